/**
 * The event catalogue (src/events/catalogue.ts): one declaration of every event type, its fields, which are
 * numbers and which webhooks may subscribe to; the stream's writers and readers agree with it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { EVENT_CATALOGUE, EVENT_TYPES, type EventType, eventFields, NUMERIC_FIELDS, WEBHOOK_EVENT_TYPES } from '../../src/events/catalogue.ts';
import { EventStream, typedEvent } from '../../src/events/stream.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { scripts } from '../../src/redis-scripts/index.ts';
import { subscribes } from '../../src/webhooks/payload.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
afterAll(() => conn.quit());

const base = {
  redis: { url: 'redis://127.0.0.1:6379', prefix: 'invitebus' },
  accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } }, teamName: 'Acme' } },
};
const hook = (events: string[]) => ({ ...base, webhooks: { hr: { url: 'http://x', secret: { env: 'S' }, events } } });

describe('the event catalogue', () => {
  it('declares every type written to the stream, webhook.disabled included, each with its fields', () => {
    expect(EVENT_TYPES).toEqual([
      'invite.succeeded',
      'invite.failed',
      'invite.cancelled',
      'batch.completed',
      'account.paused',
      'account.resumed',
      'account.rate_limited',
      'webhook.disabled',
    ]);
    for (const type of EVENT_TYPES) expect(eventFields(type).length, type).toBeGreaterThan(0);
    expect(eventFields('webhook.disabled').sort()).toEqual(['at', 'message', 'since', 'webhook']);
  });

  it("the console's live refresh listens to every type the dashboard shows (a static script cannot import the list)", () => {
    const script = readFileSync(new URL('../../src/console/assets/console.js', import.meta.url), 'utf8');
    const listened = /for \(const type of \[([^\]]*)\]\)/.exec(script)?.[1] ?? '';
    const types = [...listened.matchAll(/'([a-z_.]+)'/g)].map((m) => m[1]);
    // webhook.disabled changes no dashboard section.
    expect(types).toEqual(EVENT_TYPES.filter((t) => t !== 'webhook.disabled'));
  });

  it('types every numeric field of every event back to a number, and leaves the others strings', () => {
    for (const type of EVENT_TYPES) {
      const fields = Object.fromEntries([['type', type], ...eventFields(type).map((f) => [f, '42'])]);
      const typed = typedEvent(fields);
      for (const [name, spec] of Object.entries(EVENT_CATALOGUE[type].fields)) {
        expect(typed[name], `${type}.${name}`).toBe(spec.kind === 'number' ? 42 : '42');
        expect(NUMERIC_FIELDS.has(name), `${type}.${name}`).toBe(spec.kind === 'number');
      }
    }
  });

  it('lets the config subscribe a webhook to exactly the subscribable types', () => {
    const subscribable = EVENT_TYPES.filter((t) => EVENT_CATALOGUE[t].subscribable);
    expect(WEBHOOK_EVENT_TYPES).toEqual(subscribable);
    expect(parseConfig(hook(subscribable)).webhooks.hr?.events).toEqual(subscribable);
    for (const other of ['webhook.test', 'invite.exploded', 'batch.started']) {
      expect(() => parseConfig(hook([other])), other).toThrow(/events/);
    }
    const all = parseConfig(hook(subscribable)).webhooks.hr;
    if (all === undefined) throw new Error('no hook');
    for (const type of subscribable) expect(subscribes(all, { type, account: 'acme' }), type).toBe(true);
    expect(subscribes(all, { type: 'webhook.test' })).toBe(false);
  });

  it('is what maybe-complete.lua writes for batch.completed: exactly the declared fields, numbers where declared', async () => {
    const prefix = redis.prefix;
    const keys = invitebusKeys(prefix);
    // An empty batch, sealed by its only writer: it completes at once.
    await conn.hset(keys.batch('empty'), 'total', '0');
    await scripts(conn).sealBatch({ prefix, batchId: 'empty', writerId: 'w', mode: 'seal', maxLen: 100 });
    const stream = new EventStream(conn, prefix, 100);
    const completed = (await stream.read()).filter((e) => e.fields.type === 'batch.completed');
    expect(completed).toHaveLength(1);
    const fields = completed[0]?.fields ?? {};
    expect(Object.keys(fields).sort()).toEqual(['type', ...eventFields('batch.completed')].sort());
    const typed = typedEvent(fields);
    for (const [name, spec] of Object.entries(EVENT_CATALOGUE['batch.completed'].fields)) {
      expect(typeof typed[name], name).toBe(spec.kind === 'number' ? 'number' : 'string');
    }
  });

  it('publishes webhook.disabled through the event stream, the one writer', async () => {
    const stream = new EventStream(conn, `${redis.prefix}-w`, 100);
    await stream.publish({ type: 'webhook.disabled', webhook: 'hr', since: 5, message: 'down', at: 6 });
    const [entry] = await stream.read();
    expect(typedEvent(entry?.fields ?? {})).toEqual({ type: 'webhook.disabled', webhook: 'hr', since: 5, message: 'down', at: 6 });
    const type: EventType = 'webhook.disabled';
    expect(EVENT_CATALOGUE[type].subscribable).toBe(true);
  });
});
