/** Which column is which field (issue 23): the mapping's rules, apart from any file. */
import { describe, expect, it } from 'vitest';
import { COLUMN_FIELDS, headerFields, mergeColumnMaps, parseMapping } from '../../src/input/columns.ts';

describe('column fields', () => {
  it("are the person's fields and every provider's invite fields", () => {
    for (const f of ['email', 'externalId', 'firstName', 'lastName', 'profile', 'startDate', 'timeZone', 'role', 'memberRoleId', 'roleIds', 'returnUrl']) {
      expect(COLUMN_FIELDS).toContain(f);
    }
  });

  it('match a header trimmed and in any letter case, in their own spelling', () => {
    expect(headerFields([' EXTERNALID ', 'StartDate', 'timezone', 'Notes'], {})).toEqual({
      fields: ['externalId', 'startDate', 'timeZone', undefined],
      ignored: ['Notes'],
    });
  });
});

describe('--map', () => {
  it('reads COLUMN=FIELD, the field in any letter case, the column holding anything but the last "="', () => {
    expect(parseMapping('Work Email=email')).toEqual(['Work Email', 'email']);
    expect(parseMapping(' Start = Date = STARTDATE ')).toEqual(['Start = Date', 'startDate']);
  });

  it('refuses an unknown field, naming the fields there are, and a mapping without both sides', () => {
    expect(() => parseMapping('Work Email=mail')).toThrow(/^unknown field 'mail'; a column can be: email, externalId, firstName/);
    expect(() => parseMapping('=email')).toThrow("'=email' is not COLUMN=FIELD (e.g. --map 'Work Email=email')");
    expect(() => parseMapping('Work Email')).toThrow(/is not COLUMN=FIELD/);
  });

  it("replaces the config's mapping of the same column and of the same field", () => {
    const config = { 'Work Email': 'email', Dept: 'profile', 'Employee ID': 'externalId' };
    expect(mergeColumnMaps(config, { 'Private Email': 'email', DEPT: 'role' })).toEqual({
      'Employee ID': 'externalId',
      'Private Email': 'email',
      DEPT: 'role',
    });
    expect(mergeColumnMaps(config)).toEqual(config);
  });
});
