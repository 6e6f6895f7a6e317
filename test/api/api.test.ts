import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { bearerMatches } from '../../src/api/auth.ts';
import { startServer } from '../../src/api/serve.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startOwnRedis } from '../../src/embedded-redis.ts';
import { addQueueGauges, createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import type { FakeServer } from '../../src/sandbox/server.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startStack } from '../support/stack.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'api-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

let fake: FakeServer;
let app: FastifyInstance;
let producer: Producer;
let stack: Awaited<ReturnType<typeof startStack<'fake'>>>;
const conns = [redis.connect()];

beforeAll(async () => {
  const metrics = createMetrics();
  stack = await startStack(redis, {
    fakes: { fake: betterstackHandler({ members: ['member@example.com'] }) },
    accounts: (f) => ({ acme: { provider: 'betterstack', baseUrl: f.fake.url, credentials: { token: { env: 'T' } } } }),
    config: () => ({
      defaults: { retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } },
      // Every route's wrong-token check comes from one address here; the limit itself is tested in test/console/door.test.ts.
      api: { failedTokensPerMinute: 1_000 },
    }),
    env: { T: 'bs-team-token' },
    metrics,
  });
  fake = stack.fakes.fake;
  producer = stack.producer;
  addQueueGauges(metrics.registry, producer);
  app = await buildApi({ producer, token: TOKEN, registry: metrics.registry, bodyLimit: 64 * 1024 });
});
afterAll(async () => {
  await app.close();
  await stack.close();
  for (const c of conns) await c.quit().catch(() => c.disconnect());
});

describe('auth', () => {
  it('compares bearer tokens in constant time and refuses empty or different ones', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer  ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches('Bearer ', TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
  });

  it.each([
    ['POST', '/v1/invites'],
    ['GET', '/v1/invites/x'],
    ['GET', '/v1/batches/x'],
    ['GET', '/v1/batches/x/report'],
    ['POST', '/v1/replays'],
    ['POST', '/v1/accounts/acme/pause'],
    ['POST', '/v1/accounts/acme/resume'],
    ['GET', '/v1/stats'],
    ['GET', '/metrics'],
  ])('%s %s needs the token', async (method, url) => {
    const none = await app.inject({ method: method as 'GET', url });
    expect(none.statusCode).toBe(401);
    const wrong = await app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
  });

  it.each(['/docs/json', '/dashboard/', '/console'])('GET %s sends a browser to the login page, and refuses a wrong token', async (url) => {
    const none = await app.inject({ url });
    expect(none.statusCode).toBe(302);
    expect(none.headers.location).toBe(`/login?next=${encodeURIComponent(url)}`);
    expect((await app.inject({ url, headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
  });

  it('leaves /healthz and /readyz open', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ ready: true });
  });
});

describe('routes', () => {
  it('POST /v1/invites takes one invite → 202', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: { account: 'acme', invite: { email: 'one@example.com' }, batchId: 'api-one' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ batchId: 'api-one', accepted: 1, replaced: 0, duplicates: 0, alreadyInBatch: 0, rejected: [] });
    // A client that retries the same request (a timeout, say) learns it is already in, not a duplicate.
    const again = await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: { account: 'acme', invite: { email: 'one@example.com' }, batchId: 'api-one' },
    });
    expect(again.json()).toEqual({ batchId: 'api-one', accepted: 0, replaced: 0, duplicates: 0, alreadyInBatch: 1, rejected: [] });
  });

  it('POST /v1/invites takes many, reporting bad ones by index and field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: {
        account: 'acme',
        batchId: 'api-many',
        invites: [{ email: 'a@example.com' }, { email: 'nope' }, { email: 'member@example.com' }, { email: 'c@example.com', role: 'admin' }],
      },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      batchId: 'api-many',
      accepted: 2,
      duplicates: 0,
      rejected: [
        { index: 1, field: 'email', message: "'nope' is not a valid email address" },
        { index: 3, field: 'role', message: expect.stringContaining('admin') },
      ],
    });
  });

  it('answers 400 with field-level details for a bad body', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/invites', headers: auth, payload: { account: 'acme', invites: [], extra: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'invites' }), expect.objectContaining({ message: expect.stringContaining('extra') })]),
    );
    const tooMany = await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: { account: 'acme', invites: Array.from({ length: 10_001 }, () => ({})) },
    });
    expect([400, 413]).toContain(tooMany.statusCode);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ account: 'acme', invites: [{ email: `${'a'.repeat(70_000)}@x.io` }] }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('body_too_large');
  });

  it('answers 404 naming an unknown account', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/invites', headers: auth, payload: { account: 'globex', invite: { email: 'a@example.com' } } });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe("unknown account 'globex'; configured accounts: acme");
    expect((await app.inject({ method: 'POST', url: '/v1/accounts/globex/pause', headers: auth })).statusCode).toBe(404);
  });

  it('GET /v1/batches/:id, its report (JSON and CSV) and GET /v1/invites/:id follow the invites to their outcome', async () => {
    const status = await waitFor(async () => {
      const s = (await app.inject({ url: '/v1/batches/api-many', headers: auth })).json();
      return s.complete ? s : undefined;
    });
    expect(status).toMatchObject({ total: 2, done: 2, succeeded: 2, outcomes: { invited: 1, already_member: 1 } });
    const report = (await app.inject({ url: '/v1/batches/api-many/report', headers: auth })).json();
    expect(report.invites.map((l: { email: string; outcome: string }) => [l.email, l.outcome])).toEqual([
      ['a@example.com', 'invited'],
      ['member@example.com', 'already_member'],
    ]);
    const csv = await app.inject({ url: '/v1/batches/api-many/report?format=csv', headers: auth });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')[0]).toBe('inviteId,account,email,externalId,firstName,lastName,state,outcome,reason,attempts,status,requestId,message,at');
    const one = (await app.inject({ url: `/v1/invites/${report.invites[0].inviteId}`, headers: auth })).json();
    expect(one).toMatchObject({ account: 'acme', email: 'a@example.com', state: 'completed', outcome: 'invited', status: '201' });
    expect((await app.inject({ url: '/v1/invites/inv-nope', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/batches/nope', headers: auth })).statusCode).toBe(404);
  });

  it('POST /v1/replays replays matching failures', async () => {
    fake.script({ status: 503, body: {} });
    await app.inject({
      method: 'POST',
      url: '/v1/invites',
      headers: auth,
      payload: { account: 'acme', batchId: 'api-replay', invite: { email: 'flaky@example.com' } },
    });
    await waitFor(async () => (await app.inject({ url: '/v1/batches/api-replay', headers: auth })).json().failed === 1);
    const bad = await app.inject({ method: 'POST', url: '/v1/replays', headers: auth, payload: { since: 'yesterday' } });
    expect(bad.statusCode).toBe(400);
    // The failed invite, looked up by id and by address: its outcome, reason and status, not blanks.
    const byEmail = (await app.inject({ url: '/v1/invites?email=Flaky@Example.com', headers: auth })).json();
    expect(byEmail.invites).toEqual([
      expect.objectContaining({ account: 'acme', state: 'failed', outcome: 'retryable', reason: 'retries_exhausted', status: '503' }),
    ]);
    const byId = (await app.inject({ url: `/v1/invites/${byEmail.invites[0].inviteId}`, headers: auth })).json();
    expect(byId).toMatchObject({ account: 'acme', state: 'failed', outcome: 'retryable', reason: 'retries_exhausted', status: '503' });
    expect((await app.inject({ url: '/v1/invites', headers: auth })).statusCode).toBe(400);
    const dry = await app.inject({ method: 'POST', url: '/v1/replays', headers: auth, payload: { batchId: 'api-replay', dryRun: true } });
    expect(dry.json()).toMatchObject({ matched: 1, replayed: 0 });
    const refused = await app.inject({ method: 'POST', url: '/v1/replays', headers: auth, payload: { batchId: 'api-replay', set: { role: 'admin' } } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: 'invalid_invite', message: expect.stringMatching(/nothing was moved.*role/) });
    // One call so far (the refused replay moved nothing); the replay's own call may come as soon as it answers.
    expect(fake.requests.filter((r) => (r.json as { email?: string })?.email === 'flaky@example.com').length).toBe(1);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/replays',
      headers: auth,
      payload: { batchId: 'api-replay', reason: 'retries_exhausted', since: '1h', set: { role: 'team_lead' } },
    });
    expect(res.json()).toMatchObject({ matched: 1, replayed: 1, byAccount: { acme: 1 } });
    await waitFor(async () => (await app.inject({ url: '/v1/batches/api-replay', headers: auth })).json().succeeded === 1);
    expect(fake.requests.filter((r) => (r.json as { email?: string })?.email === 'flaky@example.com').at(-1)?.json).toMatchObject({ role: 'team_lead' });
  });

  it('pauses and resumes an account; stats show it', async () => {
    const paused = await app.inject({ method: 'POST', url: '/v1/accounts/acme/pause', headers: auth });
    expect(paused.json()).toEqual({ account: 'acme', paused: true, changed: true });
    const stats = (await app.inject({ url: '/v1/stats', headers: auth })).json();
    expect(stats.accounts[0]).toMatchObject({ account: 'acme', provider: 'betterstack', paused: true, pausedReason: 'operator' });
    expect((await app.inject({ method: 'POST', url: '/v1/accounts/acme/resume', headers: auth })).json()).toEqual({
      account: 'acme',
      paused: false,
      changed: true,
    });
    expect((await app.inject({ url: '/v1/stats', headers: auth })).json().accounts[0].paused).toBe(false);
  });

  it('serves Prometheus metrics, the OpenAPI document and the dashboard', async () => {
    const metrics = await app.inject({ url: '/metrics', headers: auth });
    expect(metrics.body).toMatch(/invitebus_invites_total\{account="acme",provider="betterstack",outcome="invited"\} \d+/);
    expect(metrics.body).toMatch(/invitebus_provider_requests_total\{account="acme",provider="betterstack",status="201"\}/);
    expect(metrics.body).toContain('invitebus_provider_request_duration_seconds_bucket');
    expect(metrics.body).toContain('invitebus_invite_latency_seconds_bucket');
    expect(metrics.body).toMatch(/invitebus_queue_jobs\{account="acme",state="completed"\} \d+/);
    expect(metrics.body).toContain('invitebus_account_paused{account="acme",reason=""} 0');
    const doc = (await app.inject({ url: '/docs/json', headers: auth })).json();
    expect(doc.info.version, "the OpenAPI version is package.json's").toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/invites',
        '/v1/invites/{id}',
        '/v1/batches/{id}',
        '/v1/batches/{id}/report',
        '/v1/replays',
        '/v1/accounts/{name}/pause',
        '/v1/stats',
      ]),
    );
    const board = await app.inject({ url: '/dashboard/', headers: auth });
    expect(board.statusCode).toBe(200);
    expect(board.body).toContain('<html');
  });

  it('bull-board is read-only unless api.dashboard.readOnly is false: its write API cannot add, retry or clean jobs', async () => {
    const queue = producer.queue('acme');
    const before = await queue.count();
    const add = (a: FastifyInstance) =>
      a.inject({
        method: 'POST',
        url: '/dashboard/api/queues/acme/add',
        headers: auth,
        payload: { name: 'invite', data: { account: 'acme', provider: 'betterstack', invite: { email: 'x@example.com\r\nBcc: y@example.com' } } },
      });
    const refused = await add(app);
    expect(refused.statusCode).toBe(405);
    for (const [method, url] of [
      ['PUT', '/dashboard/api/queues/acme/retry/failed'],
      ['PUT', '/dashboard/api/queues/acme/clean/completed'],
      ['PUT', '/dashboard/api/queues/acme/empty'],
      ['PUT', '/dashboard/api/queues/acme/pause'],
    ] as const) {
      expect((await app.inject({ method, url, headers: auth })).statusCode, url).toBe(405);
    }
    expect(await queue.count()).toBe(before);
    expect(await queue.isPaused()).toBe(false);

    const writer = new Producer({ ...producer.config, api: { ...producer.config.api, dashboard: { readOnly: false } } }, { redis: conns[0] });
    const writable = await buildApi({
      producer: writer,
      token: TOKEN,
      registry: createMetrics().registry,
    });
    try {
      await writable.inject({ method: 'PUT', url: '/dashboard/api/queues/acme/pause', headers: auth });
      expect(await queue.isPaused()).toBe(true);
      await writable.inject({ method: 'PUT', url: '/dashboard/api/queues/acme/resume', headers: auth });
      expect(await queue.isPaused()).toBe(false);
    } finally {
      await writable.close();
      await writer.close();
    }
  });
});

describe('over a real port', () => {
  it('serves the API with workers on a TCP port', async () => {
    const config = parseConfig({
      redis: { url: redis.url, prefix: `${redis.prefix}-port` },
      api: { port: 0 },
      accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } },
    });
    const server = await startServer(config, {
      env: { T: 'bs-team-token', INVITEBUS_API_TOKEN: TOKEN },
      logger: pino({ level: 'silent' }),
      port: 0,
      withWorkers: true,
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const res = await fetch(`${server.url}/v1/invites`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ account: 'acme', batchId: 'port-1', invite: { email: 'port@example.com' } }),
      });
      expect(res.status).toBe(202);
      await waitFor(async () => ((await (await fetch(`${server.url}/v1/batches/port-1`, { headers: auth })).json()) as { complete: boolean }).complete);
    } finally {
      await server.close();
    }
  });

  it('refuses to start without a token', async () => {
    const config = parseConfig({ redis: { url: redis.url, prefix: `${redis.prefix}-notoken` }, accounts: {} });
    await expect(startServer(config, { env: {}, logger: pino({ level: 'silent' }), port: 0 })).rejects.toThrow(
      /the API needs its tokens: api\.token: set the environment variable INVITEBUS_API_TOKEN/,
    );
  });

  it('/readyz says not ready when Redis may evict keys', async () => {
    const lru = await startOwnRedis({ maxmemoryPolicy: 'allkeys-lru' });
    const config = parseConfig({ redis: { url: lru.url, prefix: 'ready' }, accounts: {} });
    const p = new Producer(config);
    const a = await buildApi({ producer: p, token: TOKEN, registry: createMetrics().registry });
    try {
      const res = await a.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().reason).toMatch(/maxmemory-policy is allkeys-lru/);
    } finally {
      await a.close();
      await p.close();
      await lru.destroy();
    }
  });
});
