/**
 * Server-Sent Events share one Redis reader (issue 20, case 8): before, each open stream held its own blocking
 * connection (300 streams → 314 Redis clients), so anyone with a read-only token could exhaust Redis's clients.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'events-fanout-token-0123456789';
const STREAMS = 300;
// Named, so the count below sees this file's clients only (duplicates keep the name), whatever runs beside it.
const conn = redis.connect({ connectionName: redis.prefix });
let app: FastifyInstance;
let url: string;
let producer: Producer;

beforeAll(async () => {
  const config = parseConfig({
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
  });
  producer = new Producer(config, { redis: conn });
  app = await buildApi({ producer, token: TOKEN, readOnlyTokens: ['events-read-only-0123456789'], registry: createMetrics().registry });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await conn.quit();
});

/** An open event stream: the text received so far, and a way to hang up. */
async function openStream(query = '', token = TOKEN) {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/events${query}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const stream = { text: '', closed: false, close: () => controller.abort() };
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stream.text += decoder.decode(value, { stream: true });
    }
  })()
    .catch(() => undefined)
    .finally(() => {
      stream.closed = true;
    });
  return stream;
}

/** This file's clients Redis has that wait in XREAD (the SSE readers), and all of them. */
async function redisClients(admin: Redis): Promise<{ xread: number; all: number }> {
  const lines = String(await admin.call('CLIENT', 'LIST'))
    .trim()
    .split('\n')
    .filter((l) => l.includes(` name=${redis.prefix} `));
  return { xread: lines.filter((l) => / cmd=xread( |$)/.test(l)).length, all: lines.length };
}

describe('GET /v1/events with many listeners', () => {
  it(`${STREAMS} open streams share one Redis reader, and each gets every event`, async () => {
    const before = await redisClients(redis.admin);
    const streams = await Promise.all(Array.from({ length: STREAMS }, (_, i) => openStream(i % 2 ? '' : '?types=account.paused')));
    await waitFor(() => streams.every((s) => s.text.includes(': invitebus events')), 15_000, 'every stream to open');
    await producer.events().publishAccount({ type: 'account.paused', account: 'acme', provider: 'betterstack', reason: 'operator', at: Date.now() });
    await waitFor(() => streams.every((s) => s.text.includes('event: account.paused')), 15_000, 'the event on every stream');
    const during = await redisClients(redis.admin);
    process.stdout.write(`${STREAMS} SSE streams: ${during.xread - before.xread} Redis clients in XREAD, ${during.all - before.all} more clients in all\n`);
    expect(during.xread - before.xread).toBeLessThanOrEqual(1);
    expect(during.all - before.all).toBeLessThanOrEqual(2);
    for (const s of streams) s.close();
    await waitFor(async () => (await redisClients(redis.admin)).xread <= before.xread, 10_000, 'the shared reader to close with its last listener');
  }, 60_000);

  it('resumes after Last-Event-ID without losing events written while it was away, and filters by type', async () => {
    const events = producer.events();
    const first = await openStream();
    await waitFor(() => first.text.includes(': invitebus events'), 5_000, 'the stream to open');
    await events.publishAccount({ type: 'account.paused', account: 'acme', provider: 'betterstack', reason: 'operator', at: 1 });
    await waitFor(() => /id: (\S+)\nevent: account.paused/.test(first.text), 5_000, 'the first event');
    const lastId = /id: (\S+)\nevent: account.paused/.exec(first.text)?.[1] as string;
    first.close();
    // Written while nobody listens: a resumed stream must get both, in order, and a filtered one only its type.
    await events.publishAccount({ type: 'account.resumed', account: 'acme', provider: 'betterstack', reason: 'api', at: 2 });
    await events.publishAccount({ type: 'account.paused', account: 'acme', provider: 'betterstack', reason: 'operator', at: 3 });
    const resumed = await openStream(`?since=${lastId}`);
    const filtered = await openStream(`?since=${lastId}&types=account.resumed`);
    await waitFor(() => (resumed.text.match(/^event: /gm) ?? []).length >= 2, 5_000, 'the missed events');
    await events.publishAccount({ type: 'account.resumed', account: 'acme', provider: 'betterstack', reason: 'api', at: 4 });
    await waitFor(() => (resumed.text.match(/^event: /gm) ?? []).length >= 3, 5_000, 'the live event after the missed ones');
    await waitFor(() => (filtered.text.match(/^event: /gm) ?? []).length >= 2, 5_000, 'the filtered events');
    const ats = (s: string) => [...s.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1] as string).at);
    expect(ats(resumed.text)).toEqual([2, 3, 4]);
    expect(ats(filtered.text)).toEqual([2, 4]);
    resumed.close();
    filtered.close();
  });
});
