/**
 * Words for a value of user input in an error message, without running any code the value carries. `String()`
 * and template interpolation call an object's `Symbol.toPrimitive`, `toString` and `valueOf`: a JSON body's
 * `{"toString": "x"}` makes them throw ("Cannot convert object to primitive value"), and a library caller's
 * object could do anything. Only `typeof`, `Array.isArray` and conversions of primitives are used here.
 */

/** Longest part of a string shown in a message by default; the rest is cut off with "…". */
const SHOWN_CHARS = 60;

/** Control characters (C0, DEL, C1) and bidirectional overrides: shown escaped, never written to a terminal raw. */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/** Whether a value is an array; a revoked proxy makes `Array.isArray` throw, and it is then no array. */
function isArray(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

/** What kind of value it is, as a message says it: "a string", "a number", "an object", "an array", "null", "nothing"... */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'nothing';
    case 'string':
      return 'a string';
    case 'number':
      return Number.isNaN(value) ? 'NaN' : 'a number';
    case 'bigint':
      return 'a bigint';
    case 'boolean':
      return 'a boolean';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * The value as a message shows it: a string quoted, cut to `maxChars` characters (60) and with control
 * characters escaped (`'ada@example.com'`); a number, boolean or bigint as itself; anything else by its
 * kind ("an object").
 */
export function describeValue(value: unknown, maxChars = SHOWN_CHARS): string {
  switch (typeof value) {
    case 'string': {
      const shown = value.length > maxChars ? `${value.slice(0, maxChars)}…` : value;
      return `'${shown.replace(UNSAFE_CHARS, escapeChar)}'`;
    }
    case 'number':
    case 'boolean':
      // Primitives: converting them runs no user code.
      return String(value);
    case 'bigint':
      return `${String(value)}n`;
    default:
      return kindOf(value);
  }
}

/** The message of a value of the wrong type: "expected a string, got an object" ("required" when there is none). */
export function wrongType(expected: string, value: unknown): string {
  return value === undefined ? 'required' : `expected ${expected}, got ${kindOf(value)}`;
}
