/**
 * Every BullMQ `Queue` in src/ takes its options from src/bullmq-options.ts: a `Queue` writes its stream cap into
 * the queue's meta hash when it starts, so one built without it (BullMQ's 10,000) would undo the cap for every
 * writer of that queue. Read from the source, as the import walker reads it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each `new Queue(...)` / `new Queue<T>(...)` in src/, with the text of its call up to the closing `)`. */
function queueConstructions(): Array<{ file: string; call: string }> {
  const out: Array<{ file: string; call: string }> = [];
  for (const file of files(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new Queue\b(?:<[^>]*>)?\(/g)) {
      let depth = 0;
      let end = m.index + m[0].length - 1;
      for (; end < text.length; end += 1) {
        if (text[end] === '(') depth += 1;
        else if (text[end] === ')' && --depth === 0) break;
      }
      out.push({ file: relative(ROOT, file), call: text.slice(m.index, end + 1) });
    }
  }
  return out;
}

describe('BullMQ queues', () => {
  it('are all built with queueOptions (the key prefix and the event stream cap from one place)', () => {
    const calls = queueConstructions();
    // The account queue (producer, worker, stats), the webhook queues (fanout, delivery, admin), the control queue.
    expect(calls.length).toBeGreaterThanOrEqual(7);
    expect(calls.filter((c) => !c.call.includes('...queueOptions(')).map((c) => `${c.file}: ${c.call}`)).toEqual([]);
  });
});
