import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import type { FakeServer } from '../../src/sandbox/server.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startStack } from '../support/stack.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'api-events-token-0123456789';
const SECRET = `whsec_${Buffer.from('events-test-secret-0123456789abc').toString('base64')}`;
const auth = { authorization: `Bearer ${TOKEN}` };
let receiver: FakeServer;
let app: FastifyInstance;
let url: string;
let producer: Producer;
let stack: Awaited<ReturnType<typeof startStack<'fake' | 'receiver'>>>;

beforeAll(async () => {
  stack = await startStack(redis, {
    fakes: { fake: betterstackHandler(), receiver: () => ({ status: 200, body: { received: true } }) },
    accounts: (f) => ({ acme: { provider: 'betterstack', baseUrl: f.fake.url, credentials: { token: { env: 'T' } } } }),
    config: (f) => ({ webhooks: { hr: { url: `${f.receiver.url}/hooks?token=abc`, secret: { env: 'WH' }, events: ['invite.succeeded'] } } }),
    env: { T: 'bs-team-token', WH: SECRET },
  });
  receiver = stack.fakes.receiver;
  producer = stack.producer;
  app = await buildApi({ producer, token: TOKEN, registry: createMetrics().registry });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await stack.close();
});

/** Reads Server-Sent Events until `n` have arrived, then hangs up. */
async function readEvents(
  n: number,
  headers: Record<string, string> = {},
  query = '',
): Promise<Array<{ id: string; event: string; data: Record<string, unknown> }>> {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/events${query}`, { headers: { ...auth, ...headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: Array<{ id: string; event: string; data: Record<string, unknown> }> = [];
  const deadline = Date.now() + 15_000;
  while (events.length < n && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      const data = field('data');
      if (data !== undefined) events.push({ id: field('id') ?? '', event: field('event') ?? '', data: JSON.parse(data) });
      end = text.indexOf('\n\n');
    }
  }
  controller.abort();
  return events;
}

describe('GET /v1/events (Server-Sent Events)', () => {
  it('streams events as they happen, typed, and resumes after Last-Event-ID', async () => {
    const reading = readEvents(3, {}, '?types=invite.succeeded');
    await new Promise((r) => setTimeout(r, 200));
    await producer.inviteMany(
      'acme',
      ['e1', 'e2', 'e3'].map((n) => ({ email: `${n}@example.com` })),
    );
    const events = await reading;
    expect(events.map((e) => e.event)).toEqual(['invite.succeeded', 'invite.succeeded', 'invite.succeeded']);
    expect(events[0]?.data).toMatchObject({ type: 'invite.succeeded', account: 'acme', attempts: 1, status: 201 });
    const resumed = await readEvents(2, { 'last-event-id': events[0]?.id ?? '' }, '?types=invite.succeeded');
    expect(resumed.map((e) => e.id)).toEqual(events.slice(1).map((e) => e.id));
    const bad = await fetch(`${url}/v1/events?since=yesterday`, { headers: auth });
    expect(bad.status).toBe(400);
    expect((await fetch(`${url}/v1/events`)).status).toBe(401);
  });
});

describe('webhook routes', () => {
  it('lists endpoints without query strings or secrets, tests, replays and enables them', async () => {
    await waitFor(() => receiver.requests.length >= 3, 10_000, 'the webhook deliveries of the invites above');
    // Delivered counts are written at most once a second.
    const list = await waitFor(
      async () => {
        const res = await app.inject({ url: '/v1/webhooks', headers: auth });
        return res.json().webhooks[0]?.completed === 3 ? res : undefined;
      },
      5_000,
      'the delivered count',
    );
    expect(list.json().webhooks).toEqual([
      expect.objectContaining({ name: 'hr', url: `${receiver.url}/hooks`, disabled: false, completed: 3, pending: expect.any(Number), notStarted: 0 }),
    ]);
    expect(list.body).not.toContain('token=abc');
    expect(list.body).not.toContain(SECRET);
    const test = await app.inject({ method: 'POST', url: '/v1/webhooks/hr/test', headers: auth });
    expect(test.json()).toMatchObject({ delivered: true, status: 200 });
    const last = receiver.requests.at(-1);
    expect((new Webhook(SECRET).verify(last?.body ?? '', last?.headers as Record<string, string>) as { type: string }).type).toBe('webhook.test');
    const replay = await app.inject({ method: 'POST', url: '/v1/webhooks/hr/replay', headers: auth, payload: { since: '1h' } });
    expect(replay.json()).toEqual({ queued: 3 });
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/hr/replay', headers: auth, payload: { since: 'soon' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/hr/enable', headers: auth })).json()).toEqual({ wasDisabled: false, sentNow: 0 });
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/nope/test', headers: auth })).statusCode).toBe(404);
  });
});
