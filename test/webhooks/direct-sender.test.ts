/** DirectSender on its own: real POSTs to a real local receiver; what it queues is collected. */
import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/providers/http.ts';
import { type FakeAnswer, type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { type Attempt, createDirectSender } from '../../src/webhooks/direct-sender.ts';
import type { WebhookJobData } from '../../src/webhooks/payload.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';

const cleanups = useCleanups('test');

async function receiver(answer: () => FakeAnswer | Promise<FakeAnswer> = () => ({ status: 200 })): Promise<FakeServer> {
  const server = await startFakeServer(answer);
  cleanups.push(() => server.close());
  return server;
}

/** A sender POSTing to `server`: 2xx delivered, 429/5xx/network retried, other answers final. */
function sender(server: FakeServer, options: { concurrency?: number; maxWaitMs?: number; disabled?: boolean } = {}) {
  const http = createHttpClient({ timeoutMs: 5_000 });
  cleanups.push(() => http.close());
  const queued: Array<{ name: string; data: WebhookJobData; opts: Record<string, unknown> }> = [];
  let attempts = 0;
  const attempt = async (data: WebhookJobData): Promise<Attempt> => {
    attempts += 1;
    const res = await http.send({ method: 'POST', url: server.url, headers: { 'content-type': 'application/json' }, body: data.body });
    if (res.status === undefined) return { kind: 'retry', message: res.code };
    if (res.status < 300) return { kind: 'delivered', result: { status: res.status, body: res.body } };
    const waitMs = res.headers['retry-after'] === undefined ? {} : { waitMs: Number(res.headers['retry-after']) * 1000 };
    return res.status === 429 || res.status >= 500
      ? { kind: 'retry', message: `HTTP ${res.status}`, ...waitMs }
      : { kind: 'final', message: `HTTP ${res.status}` };
  };
  const direct = createDirectSender({
    concurrency: options.concurrency ?? 4,
    retryScheduleMs: [5_000, 60_000],
    attempt,
    isDisabled: async () => options.disabled ?? false,
    enqueue: async (name, data, opts) => {
      queued.push({ name, data, opts });
    },
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
  });
  return { direct, queued, attempts: () => attempts };
}

let seq = 0;
const job = () => {
  seq += 1;
  return {
    name: 'event',
    data: { eventId: `e${seq}`, type: 'invite.succeeded', body: `{"id":"e${seq}"}` },
    opts: { jobId: `e${seq}`, attempts: 3, backoff: { type: 'custom' }, removeOnComplete: { age: 60, count: 10 }, removeOnFail: { age: 60 } },
  };
};

describe('DirectSender', () => {
  it('delivers a 2xx answer without queueing anything', async () => {
    const server = await receiver();
    const { direct, queued } = sender(server);
    await direct.send(job());
    expect(server.requests.map((r) => r.body)).toEqual([`{"id":"e${seq}"}`]);
    expect(queued).toEqual([]);
  });

  it('queues a refusal (4xx) as a one-attempt job carrying the reason', async () => {
    const server = await receiver(() => ({ status: 410 }));
    const { direct, queued } = sender(server);
    const j = job();
    await direct.send(j);
    expect(queued).toEqual([{ name: 'event', data: { ...j.data, refused: 'HTTP 410' }, opts: { ...j.opts, attempts: 1 } }]);
  });

  it('queues a 5xx as a retry after the first attempt, at the receiver’s Retry-After, one attempt fewer', async () => {
    const server = await receiver(() => ({ status: 503, headers: { 'retry-after': '7' } }));
    const { direct, queued } = sender(server);
    const j = job();
    await direct.send(j);
    expect(queued).toEqual([{ name: 'event', data: { ...j.data, attemptsBefore: 1 }, opts: { ...j.opts, attempts: 2, delay: 7_000 } }]);
  });

  it('sends at most `concurrency` at once and delivers them all', async () => {
    const server = await receiver(() => ({ status: 200, delayMs: 100 }));
    const { direct, queued } = sender(server, { concurrency: 2 });
    let most = 0;
    const sends = Promise.all(Array.from({ length: 6 }, () => direct.send(job())));
    const watch = setInterval(() => {
      most = Math.max(most, server.inFlight());
    }, 5);
    await sends;
    clearInterval(watch);
    expect(server.requests).toHaveLength(6);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    expect(queued).toEqual([]);
  });

  it('queues new events without an attempt once one has waited longer than maxWaitMs, or the endpoint is disabled', async () => {
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const server = await receiver(async () => {
      await held;
      return { status: 200 };
    });
    const { direct, queued, attempts } = sender(server, { concurrency: 1, maxWaitMs: 50 });
    const first = direct.send(job());
    await waitFor(() => server.requests.length === 1, 5_000, 'the first attempt');
    const second = direct.send(job());
    const waitingSince = Date.now();
    await waitFor(() => Date.now() - waitingSince > 60, 1_000, 'the second to have waited over maxWaitMs');
    const third = job();
    await direct.send(third);
    expect(queued).toEqual([{ name: 'event', data: third.data, opts: third.opts }]);
    release();
    await Promise.all([first, second]);
    expect(attempts()).toBe(2);

    const off = sender(server, { disabled: true });
    const fourth = job();
    await off.direct.send(fourth);
    expect(off.attempts()).toBe(0);
    expect(off.queued).toEqual([{ name: 'event', data: fourth.data, opts: fourth.opts }]);
  });
});
