import { z } from 'zod';

/**
 * An email address as every provider accepts it: trimmed, at most 254 characters, one `@`, and no
 * control characters (a CR/LF in an address is a header-injection attempt, never a typo).
 */
export const emailField = z
  .string({ error: 'email is required' })
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'email contains control characters (CR, LF, ...)')
  .trim()
  .max(254, 'email is longer than 254 characters')
  .pipe(z.email({ error: (issue) => `'${String(issue.input)}' is not a valid email address` }));

/** Optional free-text name fields, single-line. */
export const nameField = z
  .string()
  .trim()
  .max(200)
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'contains control characters');

/** A role restricted to a provider's documented list, with a message that lists them. */
export function roleField<const T extends readonly [string, ...string[]]>(allowed: T, provider: string) {
  return z.enum(allowed, {
    error: (issue) => `role '${String(issue.input)}' is not allowed for ${provider}; allowed: ${allowed.join(', ')}`,
  });
}
