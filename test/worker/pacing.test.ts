/**
 * An account's rate limit counts every call its provider sees (issue 14, target 2): Stellas's sign-in, role list
 * and member lookups wait for a call slot like the invites, so no sliding second holds more than the limit. The
 * mass bench found 101 calls in a second at a 100/s limit when only invite calls were paced.
 */
import { describe, expect, it } from 'vitest';
import { stellasSandbox } from '../../src/providers/stellas/sandbox.ts';
import { startPipeline } from '../support/pipeline.ts';
import { startProviderThread } from '../support/provider-thread.ts';
import { useRedis } from '../support/redis.ts';
import { maxInWindow } from '../support/timing.ts';

const redis = useRedis(import.meta.url);

describe('pacing', () => {
  it('Stellas sign-in, role and member lookups count against the limit: no sliding second above 5 calls at 5/s', { timeout: 30_000 }, async () => {
    const people = Array.from({ length: 12 }, (_, i) => `p${i}@example.com`);
    const members = people.filter((_, i) => i % 2 === 0);
    // On its own thread: calls are stamped as a provider would, not late whenever the test runner is busy.
    const fake = await startProviderThread({ provider: 'stellas', members });
    const p = await startPipeline(
      redis,
      {
        acme: {
          provider: 'stellas',
          baseUrl: fake.url,
          ...stellasSandbox.account,
          concurrency: 4,
          rateLimit: { max: 5, durationMs: 1000 },
        },
      },
      { env: stellasSandbox.env },
    );
    try {
      await p.producer.inviteMany(
        'acme',
        people.map((email) => ({ email, role: 'Member' })),
      );
      const events = await p.waitForInviteEvents(12, 20_000);
      const outcomes = Object.fromEntries(events.map((e) => [e.email, e.outcome]));
      for (const email of people) expect(outcomes[email]).toBe(members.includes(email) ? 'already_member' : 'invited');
      const requests = await fake.requests();
      const lookups = requests.filter((r) => !(r.method === 'POST' && r.path === '/clients/members'));
      // sign-in, the role list and at least one member page: the calls that used to go around the limit
      expect(lookups.length).toBeGreaterThanOrEqual(3);
      expect(
        maxInWindow(
          requests.map((r) => r.at),
          1000,
        ),
      ).toBeLessThanOrEqual(5);
    } finally {
      await p.close();
      await fake.close();
    }
  });
});
