/**
 * Type confusion at the library door (issue 20, case 7): `onboard()` and `producer.inviteMany()` take values
 * from code, not only JSON: objects whose toString throws, null-prototype objects, getters and proxies that
 * throw when read. Each bad person is refused by field; the enqueue never throws for them, the valid rest is
 * queued and the batch is sealed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { onboard } from '../../src/onboarding/onboard.ts';
import { Producer } from '../../src/producer.ts';
import { SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
let producer: Producer;
let runs = 0;

beforeAll(() => {
  producer = new Producer(
    parseConfig({
      redis: { url: redis.url, prefix: redis.prefix },
      accounts: {
        uptime: { provider: 'betterstack', credentials: { token: { env: 'T' } } },
        cl: { provider: 'closient', orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'K' } } },
        ub: { provider: 'unibee', credentials: { apiKey: { env: 'U' } } },
      },
      profiles: { support: { uptime: { role: 'responder' }, cl: { role: 'editor' } } },
    }),
    { redis: conn },
  );
});
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

const boom = () => {
  throw new Error('user code ran');
};
const revoked = (() => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
})();

/** Values a JavaScript caller can hand over that JSON cannot carry. */
const HOSTILE: Record<string, unknown> = {
  'an object whose toString throws': { toString: boom },
  'an object whose Symbol.toPrimitive throws': { [Symbol.toPrimitive]: boom },
  'Object.create(null)': Object.create(null),
  'a proxy whose traps throw': new Proxy({}, { get: boom, ownKeys: boom, getPrototypeOf: boom }),
  'a revoked proxy': revoked,
  'a boxed string': new String('editor'),
  'a symbol': Symbol('editor'),
  'a bigint': 10n,
  'a function': () => 'editor',
};

describe('the library door: onboard() and inviteMany() with values of the wrong type', () => {
  it.each(Object.entries(HOSTILE))('refuses %s as a role by field and queues the rest (was: a TypeError, the batch left open)', async (_name, value) => {
    runs += 1;
    const batchId = `lib-${runs}`;
    const result = await producer.inviteMany('cl', [{ email: `a-${runs}@example.com` }, { email: `b-${runs}@example.com`, role: value }, { email: value }], {
      batchId,
    });
    expect(result.accepted).toBe(1);
    expect(result.rejected.map((r) => [r.index, r.field])).toEqual([
      [1, 'role'],
      [2, 'email'],
    ]);
    for (const r of result.rejected) expect(r.message).toMatch(/^expected a string, got (an object|a symbol|a bigint|a function)$|could not be read/);
    expect((await batchStatus(producer.redis, redis.prefix, batchId))?.sealed).toBe(true);
  });

  it('refuses a person whose fields throw when read (a getter, a proxy) and queues the others', async () => {
    const getter = Object.defineProperty({ email: 'getter@example.com' }, 'role', { enumerable: true, get: boom });
    const result = await onboard(
      producer,
      [{ email: 'lib-ok@example.com' }, getter, new Proxy({}, { ownKeys: boom, get: boom }), revoked],
      { profile: 'support' },
      { batchId: 'lib-getters' },
    );
    expect(result.accepted).toBe(2);
    expect(result.rejected.map((r) => r.index)).toEqual([1, 2, 3]);
    for (const r of result.rejected) expect(r).toMatchObject({ field: '(row)', message: expect.stringMatching(/could not be read/) });
    expect((await batchStatus(producer.redis, redis.prefix, 'lib-getters'))?.sealed).toBe(true);
  });

  it('refuses targets of the wrong type before reading anyone', async () => {
    await expect(onboard(producer, [], { profile: { toString: boom } as unknown as string })).rejects.toThrow(
      'profile: expected a profile name, got an object',
    );
    await expect(onboard(producer, [], { accounts: [{ toString: boom }] as unknown as string[] })).rejects.toThrow(
      'accounts: expected an account name, got an object',
    );
    await expect(producer.inviteMany({ toString: boom } as unknown as string, [])).rejects.toThrow('unknown account: expected an account name, got an object');
  });

  it('any JavaScript value in any field: never throws, names the field, queues the valid people (property-based)', async () => {
    const FIELDS = ['email', 'role', 'firstName', 'lastName', 'profile', 'returnUrl', 'roleIds', 'name'];
    const anything = fc.anything({
      withNullPrototype: true,
      withObjectString: true,
      withBoxedValues: true,
      withBigInt: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
    });
    await fc.assert(
      // Hostile values are picked inside the property: fast-check itself cannot hold a revoked proxy.
      fc.asyncProperty(
        fc.constantFrom(...FIELDS),
        fc.oneof(
          anything.map((value) => ({ value })),
          fc.constantFrom(...Object.keys(HOSTILE)).map((name) => ({ name })),
        ),
        async (field, pick) => {
          const value = 'name' in pick ? HOSTILE[pick.name] : pick.value;
          runs += 1;
          const person = { ...(field === 'email' ? {} : { email: `h-${runs}@example.com` }), [field]: value };
          const result = await onboard(
            producer,
            [{ email: `v-${runs}@example.com` }, person],
            { accounts: ['uptime', 'cl', 'ub'] },
            { batchId: `lib-p-${runs}` },
          );
          expect(result.rejected.filter((r) => r.index === 0)).toEqual([]);
          for (const r of result.rejected) {
            expect(r.field === field || r.field.startsWith(`${field}.`) || r.field === '(row)', JSON.stringify(r)).toBe(true);
            expect(r.message).not.toMatch(/\[object|Cannot convert/);
          }
          expect(result.accepted).toBeGreaterThanOrEqual(3);
        },
      ),
      { numRuns: 100 },
    );
  });
});
