import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type InputRow, readInvites } from '../../src/input/readers.ts';

const dir = mkdtempSync(join(tmpdir(), 'ib-readers-'));
async function read(name: string, content: string): Promise<Array<Omit<InputRow, 'bytes'>>> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const rows = [];
  for await (const { bytes: _b, ...row } of readInvites(path)) rows.push(row);
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
    expect(rows[0]).toMatchObject({ line: 2, field: '(row)', error: expect.stringContaining('unreadable CSV row') });
    expect(rows[1]).toMatchObject({ line: 3, field: '(row)', error: '4 cells for 2 columns' });
    expect(rows[2]).toEqual({ line: 4, record: { email: 'c@x.io', role: 'member' } });
  });

  it('reads roleIds as a list', async () => {
    const rows = await read('c.csv', 'email,roleIds\na@x.io,1;9007199254740993\n');
    expect(rows[0]).toEqual({ line: 2, record: { email: 'a@x.io', roleIds: ['1', '9007199254740993'] } });
  });

  it('refuses a file without an email column, naming the columns it found', async () => {
    await expect(read('d.csv', 'mail,role\na@x.io,member\n')).rejects.toThrow(/no 'email' column \(found: mail, role\)/);
  });
});

describe('JSONL reader', () => {
  it('reads one object per line and names the bad lines', async () => {
    const rows = await read('a.jsonl', '{"email":"a@x.io"}\n\nnot json\n[1,2]\n{"email":"b@x.io","role":"member"}\r\n');
    expect(rows).toEqual([
      { line: 1, record: { email: 'a@x.io' } },
      { line: 3, field: '(row)', error: expect.stringContaining('not valid JSON') },
      { line: 4, field: '(row)', error: 'each line must be a JSON object' },
      { line: 5, record: { email: 'b@x.io', role: 'member' } },
    ]);
  });

  it('refuses other file types', () => {
    expect(() => readInvites('/tmp/x.xlsx')).toThrow(/use a \.csv .* or \.jsonl file/);
  });
});
