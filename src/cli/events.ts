import { entryFields, typedEvent } from '../events/stream.ts';
import type { RedisClient } from '../redis-connection/factory.ts';

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;
// The typed overloads cannot take an optional BLOCK; the argument lists are built below.
const xread = (redis: RedisClient, ...args: string[]) => (redis.xread as unknown as (...a: string[]) => Promise<StreamReply>).apply(redis, args);
const xreadgroup = (redis: RedisClient, ...args: string[]) => (redis.xreadgroup as unknown as (...a: string[]) => Promise<StreamReply>).apply(redis, args);

/**
 * Prints events as JSON lines. Without a group: from the start of the stream (or only new ones with
 * `follow`). With a group: reads as that consumer group member and acknowledges each event after printing
 * it, which is how an HR system's consumer should read them.
 */
export async function printEvents(
  redis: RedisClient,
  stream: string,
  options: { follow?: boolean; group?: string; consumer?: string; out?: (line: string) => void; signal?: AbortSignal },
): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  let printed = 0;
  const emit = (id: string, fields: string[]) => {
    out(JSON.stringify({ id, ...typedEvent(entryFields(fields)) }));
    printed += 1;
  };
  const block = options.follow ? ['BLOCK', '1000'] : [];
  if (options.group !== undefined) {
    const consumer = options.consumer ?? 'cli';
    await redis.xgroup('CREATE', stream, options.group, '0', 'MKSTREAM').catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
    while (!options.signal?.aborted) {
      const res = await xreadgroup(redis, 'GROUP', options.group, consumer, 'COUNT', '100', ...block, 'STREAMS', stream, '>');
      const entries = res?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        emit(id, fields);
        await redis.xack(stream, options.group, id);
      }
      if (entries.length === 0 && !options.follow) break;
    }
    return printed;
  }
  let last = options.follow ? '$' : '0';
  while (!options.signal?.aborted) {
    const res = await xread(redis, 'COUNT', '100', ...block, 'STREAMS', stream, last);
    const entries = res?.[0]?.[1] ?? [];
    for (const [id, fields] of entries) {
      emit(id, fields);
      last = id;
    }
    if (entries.length === 0 && !options.follow) break;
  }
  return printed;
}
