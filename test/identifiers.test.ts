/**
 * Identifiers are checked at every door (issue: exact accounting, item 6): batch ids, invite ids and account
 * names by one shared rule in the library, the API and the CLI. A client's mistake is a 400/404 or exit 2,
 * never a 500, never a raw Redis message, never a new queue.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/app.ts';
import { batchStatus } from '../src/batches.ts';
import { accountOf, parseConfig } from '../src/config/load.ts';
import { identifierProblem } from '../src/identifiers.ts';
import { createMetrics } from '../src/metrics.ts';
import { Producer } from '../src/producer.ts';
import { replayFailed } from '../src/replay.ts';
import { useCli } from './support/cli.ts';
import { useRedis } from './support/redis.ts';
import { tempDir } from './support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
const TOKEN = 'identifiers-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const raw = {
  redis: { url: redis.url, prefix: redis.prefix },
  accounts: { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
};
const config = parseConfig(raw);
const configFile = join(tempDir('invitebus-ids-'), 'config.json');
writeFileSync(configFile, JSON.stringify(raw));
const producer = new Producer(config, { redis: conn });
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApi({ producer, token: TOKEN, registry: createMetrics().registry });
  // A batch whose keys a hostile id could name: tenk's job list is `…:batch:tenk:jobs`.
  await producer.inviteMany('acme', [{ email: 'a@example.com' }, { email: 'b@example.com' }], { batchId: 'tenk' });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await conn.quit();
});

/** Every key in this test's prefix that names an account other than acme: a queue created by mistake. */
async function strayQueueKeys() {
  const keys = await conn.keys(`${redis.prefix}:*`);
  return keys.filter((k) => /^[^:]+:(constructor|__proto__|toString|nope|hasOwnProperty):/.test(k));
}

const PROTO = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
const BAD_BATCH_IDS = ['tenk:jobs', 'b2:jobs', 'a/b', 'with space', '', '-lead', 'x'.repeat(129), 'tab\there', 'é'];

describe('one rule', () => {
  it.each(BAD_BATCH_IDS)('refuses the batch id %j', (id) => expect(identifierProblem('batch id', id)).toMatch(/not a valid batch id/));
  it.each(['tenk', 'hr-2026-11', '2026.11.23_cohort', 'b'.repeat(128), '6f1c2a1e-9f7d-4d9c-8f0b-2b5b6a0c1d2e'])('accepts the batch id %j', (id) =>
    expect(identifierProblem('batch id', id)).toBeUndefined(),
  );
  it.each(['meta', 'events', 'limiter', 'id', 'inv-xyz', 'inv-0123', `inv-${'A'.repeat(32)}`])('refuses the invite id %j', (id) =>
    expect(identifierProblem('invite id', id)).toMatch(/not a valid invite id/),
  );
  it('config account names follow it too', () => {
    expect(() => parseConfig({ accounts: { 'a:b': { provider: 'sutro', credentials: { token: { env: 'X' } } } } })).toThrow(/accounts\.a:b/);
  });
});

describe('library', () => {
  it.each(PROTO)('account %j is unknown, and no queue is made for it', async (name) => {
    expect(() => accountOf(config, name)).toThrow(/unknown account/);
    expect(() => producer.queue(name)).toThrow(/unknown account/);
    await expect(producer.inviteMany(name, [{ email: 'x@example.com' }])).rejects.toThrow(/unknown account/);
    await expect(replayFailed(producer, { accounts: [name] })).rejects.toThrow(/unknown account/);
    expect(await strayQueueKeys()).toEqual([]);
  });
  it.each(['tenk:jobs', 'a/b', ''])('batch id %j is refused before anything is written', async (batchId) => {
    await expect(producer.inviteMany('acme', [{ email: 'c@example.com' }], { batchId })).rejects.toThrow(/not a valid batch id/);
    await expect(producer.invite('acme', { email: 'c@example.com' }, { batchId })).rejects.toThrow(/not a valid batch id/);
    await expect(batchStatus(conn, config.redis.prefix, batchId)).rejects.toThrow(/not a valid batch id/);
    await expect(replayFailed(producer, { batchId })).rejects.toThrow(/not a valid batch id/);
    expect(await producer.queue('acme').getJob('c@example.com')).toBeUndefined();
    expect(await producer.queue('acme').count()).toBe(2);
  });
});

describe('API', () => {
  it.each(['meta', 'events', 'limiter', 'id', 'wait', 'stalled-check', 'x:y', 'inv-nope'])('GET /v1/invites/%s → 404', async (id) => {
    const res = await app.inject({ url: `/v1/invites/${encodeURIComponent(id)}`, headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toMatch(/WRONGTYPE|ERR |Redis/);
    expect(res.json().message).toMatch(/not a valid invite id/);
  });
  it.each(['tenk:jobs', 'tenk:members', 'tenk:results', 'a/b', 'x'.repeat(200)])('GET /v1/batches/%s (and its report) → 404', async (id) => {
    for (const url of [`/v1/batches/${encodeURIComponent(id)}`, `/v1/batches/${encodeURIComponent(id)}/report`]) {
      const res = await app.inject({ url, headers: auth });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().message, url).toMatch(/not a valid batch id/);
    }
  });
  it('a bad batch id in a body → 400 naming it', async () => {
    for (const [url, payload] of [
      ['/v1/invites', { account: 'acme', batchId: 'tenk:jobs', invite: { email: 'x@example.com' } }],
      ['/v1/replays', { batchId: 'tenk:jobs' }],
    ] as const) {
      const res = await app.inject({ method: 'POST', url, headers: auth, payload });
      expect(res.statusCode, url).toBe(400);
      expect(JSON.stringify(res.json()), url).toMatch(/batchId/);
    }
  });
  it.each(PROTO)('account %j → 404 on every route, no queue made', async (name) => {
    const calls = [
      { method: 'POST' as const, url: '/v1/invites', payload: { account: name, invite: { email: 'x@example.com' } } },
      { method: 'POST' as const, url: '/v1/replays', payload: { accounts: [name] } },
      { method: 'POST' as const, url: `/v1/accounts/${name}/pause` },
      { method: 'POST' as const, url: `/v1/accounts/${name}/resume` },
    ];
    for (const call of calls) {
      const res = await app.inject({ ...call, headers: auth });
      expect(res.statusCode, call.url).toBe(404);
      expect(res.json().message, call.url).toMatch(/unknown account/);
    }
    expect(await strayQueueKeys()).toEqual([]);
  });
});

describe('CLI', () => {
  const cli = useCli();
  it.each([
    ['status', 'tenk:jobs'],
    ['report', 'tenk:jobs'],
    ['replay', '--batch', 'tenk:jobs'],
    ['enqueue', '--account', 'acme', '--file', 'examples/hires.csv', '--batch', 'b2:jobs'],
  ])('%s … with a bad batch id exits 2 naming the rule', async (...args) => {
    const run = await cli.run(['--config', configFile, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not a valid batch id: 1-128 letters/);
  });
  it.each([
    ['pause', 'constructor'],
    ['resume', '__proto__'],
    ['pause', 'nope'],
    ['enqueue', '--account', 'toString', '--file', 'examples/hires.csv'],
    ['replay', '--account', 'constructor'],
  ])('%s %s: unknown account, exit 2, no queue made', async (...args) => {
    const run = await cli.run(['--config', configFile, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown account/);
    expect(await strayQueueKeys()).toEqual([]);
  });
});
