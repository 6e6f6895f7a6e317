/** The person an invite is for (externalId, names): what is kept, what is refused and why, by field. */
import { describe, expect, it } from 'vitest';
import { nameOf, personOf, personOfData } from '../../src/invites/person.ts';

describe('personOf', () => {
  it('keeps externalId and names, trimmed, leaving out the empty ones; none when the record names none', () => {
    expect(personOf({ email: 'a@example.com', externalId: ' 00042 ', firstName: ' Ada ', lastName: '' })).toEqual({
      ok: true,
      person: { externalId: '00042', firstName: 'Ada' },
    });
    expect(personOf({ email: 'a@example.com', role: 'admin' })).toEqual({ ok: true, person: undefined });
    expect(personOf({ email: 'a@example.com', firstName: '  ' })).toEqual({ ok: true, person: undefined });
  });

  it('takes a JSON number externalId as its decimal string only when it is an exact whole number', () => {
    expect(personOf({ externalId: 42 })).toEqual({ ok: true, person: { externalId: '42' } });
    expect(personOf({ externalId: 1.5 })).toEqual({
      ok: false,
      field: 'externalId',
      message: '1.5 is not an exact whole number: give the employee id as a string',
    });
    expect(personOf({ externalId: 2 ** 53 + 2 })).toMatchObject({ ok: false, field: 'externalId', message: /not an exact whole number/ });
  });

  it('refuses a wrong value naming its field and why, never converting it', () => {
    expect(personOf({ externalId: { toString: 'x' } })).toEqual({
      ok: false,
      field: 'externalId',
      message: 'expected a string (or a whole number), got an object',
    });
    expect(personOf({ externalId: true })).toMatchObject({ ok: false, field: 'externalId', message: 'expected a string (or a whole number), got a boolean' });
    expect(personOf({ firstName: ['Ada'] })).toEqual({ ok: false, field: 'firstName', message: 'expected a string, got an array' });
    expect(personOf({ lastName: 'Love\nlace' })).toEqual({ ok: false, field: 'lastName', message: 'lastName contains control characters (CR, LF, tab, ...)' });
    expect(personOf({ externalId: 'E\u00001' })).toMatchObject({ ok: false, field: 'externalId', message: /control characters/ });
    expect(personOf({ externalId: 'x'.repeat(201) })).toEqual({ ok: false, field: 'externalId', message: 'externalId is longer than 200 characters' });
    expect(personOf({ externalId: 'x'.repeat(200) })).toMatchObject({ ok: true });
  });

  it('refuses a field whose getter throws, without throwing', () => {
    const hostile = {
      get externalId(): string {
        throw new Error('boom');
      },
    };
    expect(personOf(hostile)).toMatchObject({ ok: false, field: 'externalId', message: /could not be read/ });
  });
});

describe('personOfData', () => {
  it('reads the person of a job, and none from an old job or one whose person does not hold', () => {
    expect(personOfData({ invite: { email: 'a@example.com' }, person: { externalId: 'E-1', firstName: 'Ada' } })).toEqual({
      externalId: 'E-1',
      firstName: 'Ada',
    });
    expect(personOfData({ invite: { email: 'a@example.com' } })).toBeUndefined();
    expect(personOfData({ person: { externalId: 'a\nb' } })).toBeUndefined();
    expect(personOfData({ person: 'E-1' })).toBeUndefined();
    expect(personOfData(null)).toBeUndefined();
  });

  it('names a person by first and last name', () => {
    expect(nameOf({ firstName: 'Ada', lastName: 'Lovelace', externalId: 'E-1' })).toBe('Ada Lovelace');
    expect(nameOf({ lastName: 'Lovelace' })).toBe('Lovelace');
    expect(nameOf({ externalId: 'E-1' })).toBeUndefined();
  });
});
