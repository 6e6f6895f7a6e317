import { describe, expect, it } from 'vitest';
import { inviteJobId, normaliseEmail } from '../../src/policies/job-id.ts';

describe('invite job id', () => {
  it('is the same for the same account and address in any case or padding', () => {
    expect(inviteJobId('acme', ' Ann.Lee@Example.COM ')).toBe(inviteJobId('acme', 'ann.lee@example.com'));
  });
  it('differs between accounts', () => {
    expect(inviteJobId('acme', 'a@x.io')).not.toBe(inviteJobId('globex', 'a@x.io'));
  });
  it('differs between addresses', () => {
    expect(inviteJobId('acme', 'a@x.io')).not.toBe(inviteJobId('acme', 'b@x.io'));
  });
  it('does not contain the address or a colon (BullMQ forbids ":" in ids)', () => {
    const id = inviteJobId('acme', 'secret.person@x.io');
    expect(id).toMatch(/^inv-[0-9a-f]{32}$/);
    expect(id).not.toContain('secret');
  });
  it('normalises by trimming and lower-casing', () => expect(normaliseEmail('  A@B.C ')).toBe('a@b.c'));
});
