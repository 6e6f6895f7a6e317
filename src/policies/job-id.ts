import { createHash } from 'node:crypto';

/**
 * Normalised form of an address for identity: trimmed and lower-cased as a whole. RFC 5321 lets the local
 * part be case-sensitive, but every provider we call treats addresses case-insensitively, and an HR export
 * that says "Ann@X.com" and "ann@x.com" means one person.
 */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The job id of an invite: a hash of (account, normalised email). Enqueuing the same person for the same
 * account again finds the same id, and BullMQ keeps one job per id, so it is delivered once. Hashing keeps
 * addresses out of Redis key names (and `:` out of ids, which BullMQ forbids).
 */
export function inviteJobId(account: string, email: string): string {
  const digest = createHash('sha256')
    .update(`${account}\n${normaliseEmail(email)}`)
    .digest('hex');
  return `inv-${digest.slice(0, 32)}`;
}
