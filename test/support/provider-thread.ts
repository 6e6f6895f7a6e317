/**
 * A provider fake on a thread of its own: its own event loop and its own garbage collector, as a real provider is
 * another machine. A fake that shares the test runner's thread stamps requests late whenever the runner is busy
 * (a GC, a poll), which reads as calls bunched at the provider when it was the clock that stalled (fault test 4
 * with two CPU hogs: a 242 ms gap then two calls 9 ms apart). Requests are stamped on arrival in that thread.
 * Every test that counts calls in a sliding window at the provider uses one.
 */
import { Worker } from 'node:worker_threads';
import type { FakeAnswer } from '../../src/sandbox/server.ts';

/** Which provider's sandbox fake the thread serves (`members`: who is a member already). */
export type ThreadedFake = { provider: 'betterstack' | 'sutro' | 'stellas'; members?: string[] };

/** A request as the threaded fake recorded it (what crosses threads of RecordedRequest). */
export interface ThreadedRequest {
  method: string;
  path: string;
  body: string;
  json: unknown;
  /** Epoch ms when the request arrived, stamped in the fake's thread. */
  at: number;
}

export interface ThreadedProvider {
  url: string;
  /** Every request so far, in order of arrival. */
  requests(): Promise<ThreadedRequest[]>;
  /** Arrival times (epoch ms) of every request so far, in order. */
  arrivals(): Promise<number[]>;
  /** Answers the next requests with `answers`; resolves with the first one's index among all requests. */
  script(...answers: FakeAnswer[]): Promise<number>;
  close(): Promise<void>;
}

type Reply = { id: number; url?: string; requests?: ThreadedRequest[]; index?: number };

/** Starts a provider's fake (every answer `delayMs` late) on its own thread. */
export async function startProviderThread(fake: ThreadedFake, options: { delayMs?: number } = {}): Promise<ThreadedProvider> {
  const thread = new Worker(new URL('./provider-thread-main.ts', import.meta.url), { workerData: { fake, delayMs: options.delayMs ?? 0 } });
  let next = 0;
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  thread.on('message', (reply: Reply) => {
    waiting.get(reply.id)?.resolve(reply);
    waiting.delete(reply.id);
  });
  thread.on('error', (err) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  const ask = (message: Record<string, unknown>) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      thread.postMessage({ ...message, id });
    });
  const { url } = await ask({ type: 'url' });
  const requests = async () => (await ask({ type: 'requests' })).requests ?? [];
  return {
    url: url as string,
    requests,
    arrivals: async () => (await requests()).map((r) => r.at),
    script: async (...answers) => (await ask({ type: 'script', answers })).index ?? -1,
    async close() {
      await ask({ type: 'close' });
      await thread.terminate();
    },
  };
}
