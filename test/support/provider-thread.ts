/**
 * A provider fake on a thread of its own: its own event loop and its own garbage collector, as a real provider is
 * another machine. A fake that shares the test runner's thread stamps requests late whenever the runner is busy
 * (a GC, a poll), which reads as calls bunched at the provider when it was the clock that stalled (fault test 4
 * with two CPU hogs: a 242 ms gap then two calls 9 ms apart). Requests are stamped on arrival in that thread.
 */
import { Worker } from 'node:worker_threads';
import type { FakeAnswer } from '../../src/sandbox/server.ts';

export interface ThreadedProvider {
  url: string;
  /** Arrival times (epoch ms) of every request so far, in order. */
  arrivals(): Promise<number[]>;
  /** Answers the next request with `answer`; resolves with that request's index among all requests. */
  script(answer: FakeAnswer): Promise<number>;
  close(): Promise<void>;
}

type Reply = { id: number; url?: string; arrivals?: number[]; index?: number };

/** Starts Better Stack's fake (every answer `delayMs` late) on its own thread. */
export async function startBetterstackThread(delayMs: number): Promise<ThreadedProvider> {
  const thread = new Worker(new URL('./provider-thread-main.ts', import.meta.url), { workerData: { delayMs } });
  let next = 0;
  const waiting = new Map<number, (reply: Reply) => void>();
  thread.on('message', (reply: Reply) => {
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  const ask = (message: Record<string, unknown>) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, resolve);
      thread.postMessage({ ...message, id });
      thread.once('error', reject);
    });
  const { url } = await ask({ type: 'url' });
  return {
    url: url as string,
    arrivals: async () => (await ask({ type: 'arrivals' })).arrivals ?? [],
    script: async (answer) => (await ask({ type: 'script', answer })).index ?? -1,
    async close() {
      await ask({ type: 'close' });
      await thread.terminate();
    },
  };
}
