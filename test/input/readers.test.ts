import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type InputRow, type ReadOptions, readInvites } from '../../src/input/readers.ts';
import { tempDir } from '../support/temp-dir.ts';

const dir = tempDir('ib-readers-');
async function read(name: string, content: string, options: ReadOptions = {}): Promise<Array<Omit<InputRow, 'bytes'>>> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const rows = [];
  for await (const { bytes: _b, ...row } of readInvites(path, options)) rows.push(row);
  return rows;
}

describe('CSV reader', () => {
  it('handles a BOM, CRLF, quoted fields with commas and escaped quotes, and blank cells', async () => {
    const rows = await read('a.csv', '\uFEFFemail,role,firstName\r\na@x.io,member,"Lee, Ann"\r\n"b@x.io",,"The ""B"""\r\n\r\nc@x.io,team_lead,\r\n');
    expect(rows).toEqual([
      { line: 2, record: { email: 'a@x.io', role: 'member', firstName: 'Lee, Ann' } },
      { line: 3, record: { email: 'b@x.io', firstName: 'The "B"' } },
      { line: 5, record: { email: 'c@x.io', role: 'team_lead' } },
    ]);
  });

  it('reports an unbalanced quote or extra cells on their line only; the rest still reads', async () => {
    const rows = await read('b.csv', 'email,role\n"a@x.io,member\nb@x.io,member,extra,cells\nc@x.io,member\n');
    expect(rows[0]).toMatchObject({ line: 2, field: '(row)', error: 'unreadable CSV row: a quoted cell is not closed (a " with no closing ")' });
    expect(rows[1]).toMatchObject({ line: 3, field: '(row)', error: '4 cells for 2 columns' });
    expect(rows[2]).toEqual({ line: 4, record: { email: 'c@x.io', role: 'member' } });
  });

  it('reads roleIds as a list', async () => {
    const rows = await read('c.csv', 'email,roleIds\na@x.io,1;9007199254740993\n');
    expect(rows[0]).toEqual({ line: 2, record: { email: 'a@x.io', roleIds: ['1', '9007199254740993'] } });
  });

  it('refuses a file without an email column, naming the columns it found and the separators it tried', async () => {
    await expect(read('d.csv', 'mail,role\na@x.io,member\n')).rejects.toThrow(
      /no 'email' column \(found: mail, role\).*separated by ',', ';', tabs or '\|'.*--delimiter/,
    );
  });
});

describe('CSV headers as spreadsheets write them', () => {
  it('matches the invite fields whatever the letter case and the spaces around a header', async () => {
    const rows = await read('h1.csv', 'Email, ROLE ,FirstName,lastname,MemberRoleID,RoleIds\na@x.io,member,Ann,Lee,r-1,1 2\n');
    expect(rows).toEqual([
      { line: 2, record: { email: 'a@x.io', role: 'member', firstName: 'Ann', lastName: 'Lee', memberRoleId: 'r-1', roleIds: ['1', '2'] } },
    ]);
  });

  it('takes a Profile or PROFILE header as the profile column (issue 23: it was silently ignored)', async () => {
    expect(await read('p1.csv', 'email,Profile\na@x.io,engineering\n')).toEqual([{ line: 2, record: { email: 'a@x.io', profile: 'engineering' } }]);
    expect(await read('p2.csv', 'EMAIL; PROFILE \na@x.io;finance\n')).toEqual([{ line: 2, record: { email: 'a@x.io', profile: 'finance' } }]);
  });

  it('takes a header " email " or "EMAIL" as the email column', async () => {
    expect(await read('h2.csv', ' email \na@x.io\n')).toEqual([{ line: 2, record: { email: 'a@x.io' } }]);
    expect(await read('h3.csv', 'EMAIL\na@x.io\n')).toEqual([{ line: 2, record: { email: 'a@x.io' } }]);
  });

  it('ignores a column that names no field, and says which (trimmed, as written)', async () => {
    const seen: string[][] = [];
    const rows = await read('h4.csv', 'email, Team Name ,role\na@x.io,Ops,member\n', { onHeader: (h) => seen.push(h.ignored) });
    expect(rows).toEqual([{ line: 2, record: { email: 'a@x.io', role: 'member' } }]);
    expect(seen).toEqual([['Team Name']]);
  });

  it('matches a header to its field ignoring letter case, spaces, _ and - (First Name, last_name, E-Mail, External ID)', async () => {
    const seen: string[][] = [];
    const rows = await read('h6.csv', 'E-Mail,First Name,last_name,External ID,Team\na@x.io,Ann,Lee,E-7,Ops\n', { onHeader: (h) => seen.push(h.ignored) });
    expect(rows).toEqual([{ line: 2, record: { email: 'a@x.io', firstName: 'Ann', lastName: 'Lee', externalId: 'E-7' } }]);
    expect(seen).toEqual([['Team']]);
  });
});

describe('CSV separators', () => {
  it('detects a semicolon-separated file from its header', async () => {
    const rows = await read('s1.csv', 'Email;Role;FirstName\na@x.io;member;Lee, Ann\nb@x.io;;"The ""B""; Jr"\n');
    expect(rows).toEqual([
      { line: 2, record: { email: 'a@x.io', role: 'member', firstName: 'Lee, Ann' } },
      { line: 3, record: { email: 'b@x.io', firstName: 'The "B"; Jr' } },
    ]);
  });

  it('detects a tab-separated file from its header', async () => {
    const rows = await read('s2.csv', 'email\trole\tfirstName\na@x.io\tmember\tLee, Ann\n"b@x.io"\t\t"Bo\tB"\n');
    expect(rows).toEqual([
      { line: 2, record: { email: 'a@x.io', role: 'member', firstName: 'Lee, Ann' } },
      { line: 3, record: { email: 'b@x.io', firstName: 'Bo\tB' } },
    ]);
  });

  it('detects a pipe-separated file from its header', async () => {
    expect(await read('s3.csv', 'email|role\na@x.io|member\n')).toEqual([{ line: 2, record: { email: 'a@x.io', role: 'member' } }]);
  });

  it('reads a semicolon-separated file with a BOM and CRLF line ends, as a spreadsheet exports it', async () => {
    const rows = await read('s4.csv', '\uFEFFEMAIL;Role\r\na@x.io;member\r\n\r\nb@x.io;responder\r\n');
    expect(rows).toEqual([
      { line: 2, record: { email: 'a@x.io', role: 'member' } },
      { line: 4, record: { email: 'b@x.io', role: 'responder' } },
    ]);
  });

  it('prefers the separator that yields an email column to the one that splits the header most', async () => {
    let ignored: string[] = [];
    const rows = await read('s5.csv', 'email;role,team,site\na@x.io;member,x,y\n', { onHeader: (h) => (ignored = h.ignored) });
    expect(rows).toEqual([{ line: 2, record: { email: 'a@x.io' } }]);
    expect(ignored).toEqual(['role,team,site']);
  });

  it('uses the separator it is given, by its character or its name', async () => {
    expect(await read('s6.csv', 'email|role\na@x.io|member\n', { delimiter: '|' })).toEqual([{ line: 2, record: { email: 'a@x.io', role: 'member' } }]);
    expect(await read('s7.csv', 'email\trole\na@x.io\tmember\n', { delimiter: 'tab' })).toEqual([{ line: 2, record: { email: 'a@x.io', role: 'member' } }]);
    expect(await read('s8.csv', 'email\trole\na@x.io\tmember\n', { delimiter: '\\t' })).toEqual([{ line: 2, record: { email: 'a@x.io', role: 'member' } }]);
    // Given ';', a comma inside a cell is text.
    expect(await read('s9.csv', 'email;name\na@x.io;Lee, Ann\n', { delimiter: ';' })).toEqual([{ line: 2, record: { email: 'a@x.io', name: 'Lee, Ann' } }]);
  });

  it('refuses a header the given separator leaves without an email column, and names the one that would work', async () => {
    await expect(read('s10.csv', 'Email;Role\na@x.io;member\n', { delimiter: ',' })).rejects.toThrow(
      "the header row has no 'email' column when separated by ',' (found: Email;Role); separated by ';' it has one: pass --delimiter ';' or leave --delimiter out",
    );
  });
});

describe('an HR export as it is (issue 23), read through the column mapping', () => {
  const EXPORT_COLUMNS = {
    'Employee ID': 'externalId',
    'first name': 'firstName',
    'LAST NAME': 'lastName',
    'Work Email': 'email',
    Department: 'profile',
    'Start Date': 'startDate',
  };
  const exported = (sep: string) =>
    `\uFEFF${['Employee ID', ' FIRST NAME', 'Last Name ', 'work email', 'Department', 'Start Date', 'Manager'].join(sep)}\r\n` +
    `${['E-1001', 'Ada', 'Lovelace', 'ada@example.com', 'R&D', '2026-12-01', 'Grace Hopper'].join(sep)}\r\n` +
    `${['E-1002', 'Bob', '"Smith, Jr"', 'bob@example.com', 'finance', '01/12/2026', ''].join(sep)}\r\n`;

  for (const [name, sep] of [
    ['comma', ','],
    ['semicolon', ';'],
  ] as const) {
    it(`reads the ${name}-separated export with a BOM and CRLF: mapped fields under their names, the rest ignored`, async () => {
      let ignored: string[] = [];
      const rows = await read(`hr-${name}.csv`, exported(sep), { columns: EXPORT_COLUMNS, onHeader: (h) => (ignored = h.ignored) });
      expect(rows).toEqual([
        {
          line: 2,
          record: { externalId: 'E-1001', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', profile: 'R&D', startDate: '2026-12-01' },
        },
        {
          line: 3,
          record: { externalId: 'E-1002', firstName: 'Bob', lastName: 'Smith, Jr', email: 'bob@example.com', profile: 'finance', startDate: '01/12/2026' },
        },
      ]);
      expect(ignored).toEqual(['Manager']);
    });
  }

  it('refuses the export without a mapping, showing the mapping line to add for the column that looks like addresses', async () => {
    await expect(read('hr-unmapped.csv', exported(';'))).rejects.toThrow(
      `the header row has no 'email' column (found: Employee ID, FIRST NAME, Last Name, work email, Department, Start Date, Manager): ` +
        `'work email' looks like the addresses: add to the config "intake": { "columns": { "work email": "email" } } or pass --map 'work email=email'`,
    );
    await expect(read('hr-nomail.csv', 'Who,Team\nada@example.com,ops\n')).rejects.toThrow(
      `name the column of addresses: add to the config "intake": { "columns": { "YOUR COLUMN": "email" } } or pass --map 'YOUR COLUMN=email'`,
    );
  });

  it('takes a mapped column over one that only bears the field name (then ignored), and refuses two columns for one field', async () => {
    let ignored: string[] = [];
    const rows = await read('m1.csv', 'Email,Work Email\nprivate@x.io,ada@example.com\n', {
      columns: { 'Work Email': 'email' },
      onHeader: (h) => (ignored = h.ignored),
    });
    expect(rows).toEqual([{ line: 2, record: { email: 'ada@example.com' } }]);
    expect(ignored).toEqual(['Email']);
    await expect(read('m2.csv', 'Mail,Work Email\na@x.io,b@x.io\n', { columns: { Mail: 'email', 'Work Email': 'email' } })).rejects.toThrow(
      "the header row (line 1): columns 'Mail' and 'Work Email' are both mapped to email: keep one, or map the other to another field",
    );
    await expect(read('m3.csv', 'Email,EMAIL\na@x.io,b@x.io\n')).rejects.toThrow("columns 'Email' and 'EMAIL' both name email");
  });
});

describe('JSONL reader', () => {
  it('reads one object per line and names the bad lines', async () => {
    const rows = await read('a.jsonl', '{"email":"a@x.io"}\n\nnot json\n[1,2]\n{"email":"b@x.io","role":"member"}\r\n');
    expect(rows).toEqual([
      { line: 1, record: { email: 'a@x.io' } },
      { line: 3, field: '(row)', error: expect.stringContaining('not valid JSON') },
      { line: 4, field: '(row)', error: 'each line must be a JSON object of fields, got an array' },
      { line: 5, record: { email: 'b@x.io', role: 'member' } },
    ]);
  });

  it('refuses other file types', () => {
    expect(() => readInvites('/tmp/x.xlsx')).toThrow(/use a \.csv .* or \.jsonl file/);
  });
});
