/**
 * Adaptive rate explained (issue 24), end to end: a 429 from a local Closient slows the account's paced rate, and
 * `stats` (library, API) say so with the time; recovery updates the record. Time passing is played by moving the
 * record's `rateAt` back (the raise counts Redis time since the rate last moved), not by sleeping.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { closientFake, closientSandbox } from '../../src/providers/closient/sandbox.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { accountStats } from '../../src/stats.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'paced-rate-story-token-0123456789';
let fake: FakeServer;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let app: FastifyInstance;
let calls = 0;

beforeAll(async () => {
  const closient = closientFake();
  // The provider's 4th call is a 429 (Retry-After 1 s); every other call is answered as Closient does.
  fake = await startFakeServer((req) => {
    calls += 1;
    return calls === 4 ? closientSandbox.fake({ members: [] }).rateLimited() : closient.handler(req);
  });
  pipeline = await startPipeline(
    redis,
    { closient: { provider: 'closient', baseUrl: fake.url, ...closientSandbox.account, rateLimit: { max: 2, durationMs: 1000 } } },
    { env: closientSandbox.env },
  );
  app = await buildApi({ producer: pipeline.producer, token: TOKEN, registry: createMetrics().registry });
}, 30_000);
afterAll(async () => {
  await app?.close();
  await pipeline?.close();
  await fake?.close();
});

const stats = async () => (await accountStats(pipeline.producer))[0];
const redisNow = async () => {
  const [s, us] = await pipeline.producer.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
};

describe('the paced rate, told', () => {
  it('a 429 slows the rate and stats say so, with when', { timeout: 30_000 }, async () => {
    const before = await redisNow();
    const { producer } = pipeline;
    await producer.inviteMany(
      'closient',
      Array.from({ length: 6 }, (_, i) => ({ email: `p${i}@example.com`, role: 'editor' })),
    );
    await pipeline.waitForInviteEvents(6, 20_000);
    const s = await stats();
    const p = s?.pacing;
    expect(p).toMatchObject({ limit: 2, adaptive: true, lowered: { from: 2, because: 'rate_limited' } });
    expect(p?.rate).toBeLessThan(2);
    expect(p?.lowered?.to).toBeLessThanOrEqual(1.9);
    expect(p?.lowered?.at).toBeGreaterThanOrEqual(before);
    expect(p?.lowered?.at).toBeLessThanOrEqual(await redisNow());
    const at = new Date(p?.lowered?.at ?? 0).toISOString().slice(11, 16);
    expect(p?.summary).toMatch(
      new RegExp(
        `^[\\d.]+/s \\(limit 2/s\\) — slowed (to [\\d.]+/s )?after a 429 at ${at} UTC(, recovering:)?,? back to 2/s (around \\d\\d:\\d\\d UTC|as soon as calls resume)$`,
      ),
    );
    // One 429, one account.rate_limited: the story and the event agree on the moment, give or take the hold's write.
    const [event] = await pipeline.accountEvents('account.rate_limited');
    expect(Math.abs(Number(event?.at) - (p?.lowered?.at ?? 0))).toBeLessThan(2_000);
    // ... and the event says what the rate became.
    expect(Number(event?.pacedRate)).toBe(p?.lowered?.to);

    // The API's stats carry the same.
    const api = (await app.inject({ url: '/v1/stats', headers: { authorization: `Bearer ${TOKEN}` } })).json() as { accounts: (typeof s)[] };
    expect(api.accounts[0]?.pacing).toMatchObject({ lowered: p?.lowered, summary: p?.summary });
  });

  it('recovery: back at the limit, the record says by when', { timeout: 30_000 }, async () => {
    const key = invitebusKeys(pipeline.config.redis.prefix).pacedRateChange('closient');
    // As if 20 minutes had gone by since the rate last moved.
    await pipeline.producer.redis.hincrby(key, 'rateAt', -1_200_000);
    const before = await redisNow();
    await pipeline.producer.inviteMany('closient', [
      { email: 'late1@example.com', role: 'editor' },
      { email: 'late2@example.com', role: 'editor' },
    ]);
    const s = await waitFor(
      async () => {
        const now = await stats();
        return now?.pacing?.recoveredAt === undefined ? undefined : now;
      },
      20_000,
      'the rate back at its limit',
    );
    expect(s.pacing?.rate).toBe(2);
    expect(s.pacing?.recoveredAt).toBeGreaterThanOrEqual(before);
    expect(await pipeline.producer.redis.exists(invitebusKeys(pipeline.config.redis.prefix).pacedRate('closient'))).toBe(0);
    expect(s.pacing?.summary).toMatch(/^2\/s, its limit — slowed to [\d.]+\/s after a 429 at \d\d:\d\d UTC, back to 2\/s by \d\d:\d\d UTC$/);
  });
});
