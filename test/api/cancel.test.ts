/** DELETE /v1/people/:email/invites: a withdrawn hire's pending invites cancelled over HTTP, with the API's auth. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { startPipeline } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'cancel-api-token-0123456789';
const READ = 'cancel-read-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let app: FastifyInstance;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;

beforeAll(async () => {
  // No worker: the invites wait until cancelled.
  const account = { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } };
  pipeline = await startPipeline(redis, { acme: account, beta: account }, { env: { T: 't' }, workers: false });
  app = await buildApi({ producer: pipeline.producer, token: TOKEN, readOnlyTokens: [READ], registry: createMetrics().registry });
  for (const a of ['acme', 'beta'])
    await pipeline.producer.inviteMany(a, [{ email: 'ada@example.com' }, { email: 'bob@example.com' }], { batchId: a === 'acme' ? 'spring' : 'autumn' });
});
afterAll(async () => {
  await app.close();
  await pipeline.close();
});

const del = (path: string, headers: Record<string, string> = auth) => app.inject({ method: 'DELETE', url: path, headers });

describe('DELETE /v1/people/:email/invites', () => {
  it('needs the API token: none is refused, a read-only one may not cancel', async () => {
    expect((await del('/v1/people/ada@example.com/invites', {})).statusCode).toBe(401);
    const read = await del('/v1/people/ada@example.com/invites', { authorization: `Bearer ${READ}` });
    expect(read.statusCode).toBe(403);
    expect((await pipeline.producer.queue('acme').getWaitingCount()) + (await pipeline.producer.queue('beta').getWaitingCount())).toBe(4);
  });

  it('counts first with ?dryRun=true, cancels only the batch asked for, then the rest; a second call cancels nothing', async () => {
    const dry = await del('/v1/people/ada%40example.com/invites?dryRun=true');
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ email: 'ada@example.com', dryRun: true, cancelled: 2 });

    const spring = await del('/v1/people/ada@example.com/invites?batch=spring');
    expect(spring.json()).toMatchObject({
      batchId: 'spring',
      cancelled: 1,
      invites: [
        { account: 'acme', status: 'cancelled', previous: 'waiting', batchId: 'spring' },
        { account: 'beta', status: 'other_batch', batchId: 'autumn' },
      ],
    });
    const rest = await del('/v1/people/ada@example.com/invites');
    expect(rest.json()).toMatchObject({ cancelled: 1, invites: [{ status: 'already_cancelled' }, { status: 'cancelled' }] });
    const again = await del('/v1/people/ada@example.com/invites');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ cancelled: 0, invites: [{ status: 'already_cancelled' }, { status: 'already_cancelled' }] });

    const events = (await pipeline.events.read()).filter((e) => e.fields.type === 'invite.cancelled');
    expect(events.map((e) => [e.fields.account, e.fields.by])).toEqual([
      ['acme', 'api'],
      ['beta', 'api'],
    ]);
    const status = await app.inject({ method: 'GET', url: '/v1/batches/spring', headers: auth });
    expect(status.json()).toMatchObject({ total: 2, done: 1, cancelled: 1 });
  });

  it('answers 404 for a person with no invite, 400 for a bad address, batch or dryRun', async () => {
    const none = await del('/v1/people/nobody@example.com/invites');
    expect(none.statusCode).toBe(404);
    expect(none.json().message).toBe('no invite of nobody@example.com in any account (never queued, or removed after retention)');
    expect((await del('/v1/people/not-an-address/invites')).statusCode).toBe(400);
    const badBatch = await del('/v1/people/bob@example.com/invites?batch=..%2F');
    expect(badBatch.statusCode).toBe(400);
    expect(badBatch.json().message).toMatch(/batch id/);
    expect((await del('/v1/people/bob@example.com/invites?dryRun=yes')).statusCode).toBe(400);
    expect((await pipeline.producer.queue('acme').getWaitingCount()) + (await pipeline.producer.queue('beta').getWaitingCount())).toBe(2);
  });

  it('works over a real port, and is in the OpenAPI document', async () => {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/v1/people/bob%40example.com/invites`, { method: 'DELETE', headers: auth });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { cancelled: number }).cancelled).toBe(2);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json', headers: auth })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/people/{email}/invites'] ?? {})).toEqual(['delete']);
  });
});
