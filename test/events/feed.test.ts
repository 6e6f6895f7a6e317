/** The shared event reader: every listener gets every entry after its start, once and in order. */
import { afterAll, describe, expect, it } from 'vitest';
import { EventFeed, type FeedEntry, idAfter } from '../../src/events/feed.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
afterAll(async () => {
  await conn.quit();
});

/** A listener that records what it is given (and can refuse to take more). */
function recorder(keepUp = () => true) {
  const got: FeedEntry[] = [];
  const push = (entries: FeedEntry[]) => {
    got.push(...entries);
    return keepUp();
  };
  return { got, push, drained: async () => {}, end() {} };
}

describe('EventFeed', () => {
  it('orders stream ids numerically, beyond a double', () => {
    expect(idAfter('10-0', '9-5')).toBe(true);
    expect(idAfter('1700000000000-10', '1700000000000-9')).toBe(true);
    expect(idAfter('18446744073709551615-1', '18446744073709551615-0')).toBe(true);
    expect(idAfter('5-0', '5-0')).toBe(false);
  });

  it('catches a listener up from an old id while new entries keep coming, without gap or repeat', async () => {
    const key = `${redis.prefix}:catch-up`;
    for (let i = 0; i < 1_200; i++) await conn.xadd(key, '*', 'n', String(i));
    const feed = new EventFeed(conn, key);
    const early = recorder();
    const late = recorder();
    const attached = feed.subscribe('$', early);
    const writing = (async () => {
      for (let i = 1_200; i < 1_500; i++) await conn.xadd(key, '*', 'n', String(i));
    })();
    const detachEarly = await attached;
    const detachLate = await feed.subscribe('0', late);
    await writing;
    await waitFor(() => late.got.length >= 1_500, 10_000, 'every entry for the late listener');
    expect(late.got.map((e) => Number(e.fields.n))).toEqual(Array.from({ length: 1_500 }, (_, i) => i));
    await waitFor(() => early.got.at(-1)?.fields.n === '1499', 10_000, 'the live entries for the early listener');
    const seen = early.got.map((e) => Number(e.fields.n));
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => 1_500 - seen.length + i));
    detachEarly();
    detachLate();
    expect(feed.size).toBe(0);
  });

  it('ends a listener that cannot keep up and keeps serving the others', async () => {
    const key = `${redis.prefix}:slow`;
    const feed = new EventFeed(conn, key);
    let ended = false;
    const slow = { ...recorder(() => false), end: () => (ended = true) };
    const fine = recorder();
    await feed.subscribe('$', slow);
    const detach = await feed.subscribe('$', fine);
    await conn.xadd(key, '*', 'n', '1');
    await conn.xadd(key, '*', 'n', '2');
    await waitFor(() => fine.got.length === 2, 5_000, 'both entries for the listener that keeps up');
    expect(ended).toBe(true);
    expect(slow.got.length).toBe(1);
    expect(feed.size).toBe(1);
    detach();
    feed.close();
  });
});
