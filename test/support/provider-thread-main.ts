/** The thread of test/support/provider-thread.ts: a provider's fake, answering its parent's questions. */
import { parentPort, workerData } from 'node:worker_threads';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { stellasSandbox } from '../../src/providers/stellas/sandbox.ts';
import { sutroFake } from '../../src/providers/sutro/sandbox.ts';
import { type FakeAnswer, type FakeHandler, startFakeServer } from '../../src/sandbox/server.ts';
import type { ThreadedFake } from './provider-thread.ts';

const { fake, delayMs } = workerData as { fake: ThreadedFake; delayMs: number };

function handlerOf(f: ThreadedFake): FakeHandler {
  if (f.provider === 'betterstack') return betterstackHandler();
  if (f.provider === 'sutro') return sutroFake({ members: f.members ?? [] }).handler;
  return stellasSandbox.fake({ members: f.members ?? [] }).handler;
}

const handler = handlerOf(fake);
const server = await startFakeServer(async (req) => ({ ...(await handler(req)), ...(delayMs > 0 ? { delayMs } : {}) }));
const port = parentPort;
if (port === null) throw new Error('provider-thread-main runs as a worker thread');
port.on('message', (m: { id: number; type: string; answers?: FakeAnswer[] }) => {
  if (m.type === 'url') port.postMessage({ id: m.id, url: server.url });
  if (m.type === 'requests') {
    const requests = server.requests.map(({ method, path, body, json, at }) => ({ method, path, body, json, at }));
    port.postMessage({ id: m.id, requests });
  }
  if (m.type === 'script' && m.answers) {
    // The scripted answers go to the next requests to arrive: the first one's index is the count so far (same thread).
    server.script(...m.answers);
    port.postMessage({ id: m.id, index: server.requests.length });
  }
  if (m.type === 'close') void server.close().then(() => port.postMessage({ id: m.id }));
});
