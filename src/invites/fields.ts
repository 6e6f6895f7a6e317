import { z } from 'zod';
import { describeValue, wrongType } from '../input/describe-value.ts';

/**
 * An error for a schema whose own message fits only a value of the right type: a value of another type is
 * told apart ("expected a string, got an object") and never converted to a string to be shown.
 */
export const typedError =
  (expected: string, message: string) =>
  (issue: { code?: string; input?: unknown }): string =>
    issue.code === 'invalid_type' ? wrongType(expected, issue.input) : message;

/**
 * An email address as every provider accepts it: trimmed, at most 254 characters, one `@`, and no
 * control characters (a CR/LF in an address is a header-injection attempt, never a typo).
 */
export const emailField = z
  .string({ error: (issue) => (issue.input === undefined ? 'email is required' : wrongType('a string', issue.input)) })
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'email contains control characters (CR, LF, ...)')
  .trim()
  .max(254, 'email is longer than 254 characters')
  // Shown whole (at most 254 characters): the HR team must recognise the address to correct it.
  .pipe(z.email({ error: (issue) => `${describeValue(issue.input, 254)} is not a valid email address` }));

/** Optional free-text name fields, single-line. */
export const nameField = z
  .string({ error: (issue) => wrongType('a string', issue.input) })
  .trim()
  .max(200)
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'contains control characters');

/** A role restricted to a provider's documented list, with a message that lists them. */
export function roleField<const T extends readonly [string, ...string[]]>(allowed: T, provider: string) {
  return z.enum(allowed, {
    // z.enum checks no type first: an object arrives here as a value that is not in the list.
    error: (issue) =>
      typeof issue.input === 'string'
        ? `role ${describeValue(issue.input)} is not allowed for ${provider}; allowed: ${allowed.join(', ')}`
        : wrongType('a string', issue.input),
  });
}
