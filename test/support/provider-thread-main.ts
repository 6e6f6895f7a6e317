/** The thread of test/support/provider-thread.ts: Better Stack's fake, answering its parent's questions. */
import { parentPort, workerData } from 'node:worker_threads';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeAnswer, startFakeServer } from '../../src/sandbox/server.ts';

const { delayMs } = workerData as { delayMs: number };
const server = await startFakeServer((req) => ({ ...betterstackHandler()(req), delayMs }));
const port = parentPort;
if (port === null) throw new Error('provider-thread-main runs as a worker thread');
port.on('message', (m: { id: number; type: string; answer?: FakeAnswer }) => {
  if (m.type === 'url') port.postMessage({ id: m.id, url: server.url });
  if (m.type === 'arrivals') port.postMessage({ id: m.id, arrivals: server.requests.map((r) => r.at) });
  if (m.type === 'script' && m.answer) {
    // The scripted answer goes to the next request to arrive: its index is the count so far (same thread).
    server.script(m.answer);
    port.postMessage({ id: m.id, index: server.requests.length });
  }
  if (m.type === 'close') void server.close().then(() => port.postMessage({ id: m.id }));
});
