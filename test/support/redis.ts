import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, inject } from 'vitest';

/**
 * Redis for one test file: a unique key prefix, connections that are tracked, and cleanup of exactly the
 * keys under that prefix (never a FLUSH: the Redis may not be ours). Fails the file if a connection it
 * handed out is still open at the end (a leaked worker or queue).
 */
export function useRedis(fileUrl: string) {
  const url = inject('redisUrl');
  const prefix = `t-${basename(fileUrl)
    .replace(/\.test\.ts$/, '')
    .replace(/[^a-z0-9-]/gi, '')}-${randomBytes(3).toString('hex')}`;
  const tracked: Redis[] = [];
  const admin = new Redis(url, { maxRetriesPerRequest: 3 });

  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    await admin.quit();
    const open = tracked.filter((c) => c.status !== 'end');
    for (const c of open) c.disconnect();
    if (open.length > 0) throw new Error(`${open.length} Redis connection(s) left open by ${basename(fileUrl)}`);
  });

  return {
    url,
    prefix,
    admin,
    /** A new tracked connection suited to BullMQ workers (`options` added: e.g. a connectionName to find it by). */
    connect(options: RedisOptions = {}): Redis {
      const c = new Redis(url, { maxRetriesPerRequest: null, ...options });
      tracked.push(c);
      return c;
    },
  };
}
