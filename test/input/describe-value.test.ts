import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, kindOf, wrongType } from '../../src/input/describe-value.ts';
import { inputErrors, safeParseInput, UNREADABLE } from '../../src/input/zod-messages.ts';

const boom = () => {
  throw new Error('user code ran');
};

/** A proxy whose every trap throws: any use of it beyond typeof / Array.isArray runs user code. */
const trapped = (target: object) =>
  new Proxy(target, Object.fromEntries(['get', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor', 'apply'].map((t) => [t, boom])));

const revoked = (() => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
})();

/** Hostile values, none of which may be converted: each of them makes String() throw. */
const HOSTILE: Array<[string, unknown, string]> = [
  ['an object whose toString throws', { toString: boom }, 'an object'],
  ['an object whose valueOf throws', { valueOf: boom, toString: boom }, 'an object'],
  ['an object whose Symbol.toPrimitive throws', { [Symbol.toPrimitive]: boom }, 'an object'],
  ['{"toString": "x"} from JSON', JSON.parse('{"toString":"x"}'), 'an object'],
  ['Object.create(null)', Object.create(null), 'an object'],
  ['a null-prototype object with a toString key', Object.assign(Object.create(null), { toString: 'x' }), 'an object'],
  ['a proxy whose every trap throws', trapped({}), 'an object'],
  ['a proxy of an array whose every trap throws', trapped([]), 'an array'],
  ['a revoked proxy', revoked, 'an object'],
  ['an array holding a hostile object', [{ toString: boom }], 'an array'],
  ['a function whose toString throws', Object.assign(() => 1, { toString: boom }), 'a function'],
];

/** Values String() takes but a message must still not show as text (or zod's own wording would read them). */
const ODD: Array<[string, unknown, string]> = [
  ['an instance whose constructor getter throws', Object.defineProperty(new (class Hostile {})(), 'constructor', { get: boom }), 'an object'],
  ['a symbol', Symbol('s'), 'a symbol'],
  ['a boxed string', new String('member'), 'an object'],
  ['a date', new Date(0), 'an object'],
];

describe('describeValue / kindOf', () => {
  it.each(HOSTILE)('describes %s by its kind without running its code', (_name, value, kind) => {
    expect(() => String(value)).toThrow();
    expect(kindOf(value)).toBe(kind);
    expect(describeValue(value)).toBe(kind);
    expect(wrongType('a string', value)).toBe(`expected a string, got ${kind}`);
  });

  it.each(ODD)('describes %s by its kind', (_name, value, kind) => {
    expect(describeValue(value)).toBe(kind);
  });

  it('shows primitives as themselves, strings quoted and cut, control characters escaped', () => {
    expect(describeValue('ada@example.com')).toBe("'ada@example.com'");
    expect(describeValue('x'.repeat(100))).toBe(`'${'x'.repeat(60)}…'`);
    expect(describeValue('x'.repeat(100), 254)).toBe(`'${'x'.repeat(100)}'`);
    expect(describeValue('a\u001b[31mred\r\n\u202eb')).toBe("'a\\u001b[31mred\\u000d\\u000a\\u202eb'");
    expect(describeValue(42)).toBe('42');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('nothing');
    expect(wrongType('a string', undefined)).toBe('required');
  });

  it('never throws and never writes a control character, whatever the value (property-based)', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withObjectString: true,
          withBoxedValues: true,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          stringUnit: 'binary',
        }),
        (value) => {
          const shown = describeValue(value);
          expect(typeof shown).toBe('string');
          expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
          expect(kindOf(value)).toMatch(/^(a|an|null|nothing|NaN)\b/);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('inputErrors (zod messages for user input)', () => {
  const schema = z.object({
    role: z.string(),
    count: z.number().int(),
    tags: z.array(z.string()),
    id: z.union([z.number(), z.string()]),
    pick: z.enum(['a', 'b']),
  });
  const messages = (input: unknown) => Object.fromEntries((safeParseInput(schema, input)?.error?.issues ?? []).map((i) => [i.path.join('.'), i.message]));

  it('names the expected type and the kind that came, never the value', () => {
    expect(messages({ role: { toString: boom }, count: 'x', tags: { valueOf: boom }, id: Object.create(null), pick: { toString: boom } })).toEqual({
      role: 'expected a string, got an object',
      count: 'expected a number, got a string',
      tags: 'expected an array, got an object',
      id: 'expected a number or a string, got an object',
      // zod's own message for a value not in the list converts nothing.
      pick: 'Invalid option: expected one of "a"|"b"',
    });
    expect(messages({ tags: ['ok', 7] })).toMatchObject({ role: 'required', 'tags.1': 'expected a string, got a number' });
  });

  it('turns a value that throws when read into a refusal, not a throw', () => {
    const getter = Object.defineProperty({}, 'role', { enumerable: true, get: boom });
    expect(safeParseInput(schema, getter).error?.issues).toMatchObject([{ path: ['role'], message: UNREADABLE }]);
    expect(safeParseInput(schema, { role: 'x', tags: revoked }).error?.issues).toMatchObject([{ path: ['tags'], message: UNREADABLE }]);
    expect(safeParseInput(schema, revoked).error?.issues).toMatchObject([{ path: [], message: UNREADABLE }]);
    expect(() => schema.safeParse(getter, { error: inputErrors })).toThrow('user code ran');
  });
});
