/** Consumers get typed JSON: numbers as numbers, whatever the stream stores. */
import { afterAll, describe, expect, it } from 'vitest';
import { printEvents } from '../../src/cli/events.ts';
import { EventStream, typedEvent } from '../../src/events/stream.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
afterAll(() => conn.quit());

describe('typed events', () => {
  it('turns numeric fields into numbers and leaves the rest strings', () => {
    expect(typedEvent({ type: 'invite.failed', attempts: '3', status: '422', email: '12@x.io', at: 'soon', batchId: '2026' })).toEqual({
      type: 'invite.failed',
      attempts: 3,
      status: 422,
      email: '12@x.io',
      at: 'soon',
      batchId: '2026',
    });
  });

  it('`invitebus events` prints numbers as numbers', async () => {
    const stream = new EventStream(conn, redis.prefix, 1000);
    await stream.publishAccount({
      type: 'account.rate_limited',
      account: 'acme',
      provider: 'closient',
      waitMs: 1500,
      until: 1_900_000_000_000,
      at: 1_800_000_000_000,
    });
    const lines: string[] = [];
    await printEvents(conn, stream.key, { out: (l) => lines.push(l) });
    expect(JSON.parse(lines[0] as string)).toMatchObject({ type: 'account.rate_limited', waitMs: 1500, until: 1_900_000_000_000, at: 1_800_000_000_000 });
  });
});
