/**
 * Webhook delivery: N events written to the event stream (as the workers write them), fanned out and
 * delivered, signed, to a local receiver; against a bare got POST loop with the same concurrency to the same
 * receiver. Reports deliveries/s and the time from the event's write to its arrival (p50, p99).
 */
import http from 'node:http';
import got from 'got';
import { Redis } from 'ioredis';
import { invitebusKeys } from '../../src/redis.ts';
import { startWebhooks } from '../../src/webhooks/index.ts';
import { betterstack, config, percentile, type Result, redis, silent } from '../lib.ts';

const N = 5_000;
const CONCURRENCY = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 10);
const TRICKLE = 500;
const SECRET = `whsec_${Buffer.from('bench-webhook-secret-0123456789ab').toString('base64')}`;

/** A receiver answering 204, noting when each delivery arrived. */
async function receiver() {
  const arrivals: Array<{ at: number; id: string }> = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push({ at: Date.now(), id: String(req.headers['webhook-id'] ?? '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const waitFor = async (check: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('bench: webhook deliveries did not all arrive');
    await new Promise((r) => setTimeout(r, 10));
  }
};

export async function webhooksScenario(): Promise<Result[]> {
  const r = await redis();
  const rec = await receiver();
  try {
    const cfg = config(
      r.url,
      { acme: betterstack('http://127.0.0.1:9') },
      {
        webhooks: { hr: { url: rec.url, secret: { env: 'BENCH_WH' }, events: ['invite.succeeded'], concurrency: CONCURRENCY } },
      },
    );
    const connection = new Redis(r.url, { maxRetriesPerRequest: null });
    const hooks = startWebhooks({ config: cfg, env: { BENCH_WH: SECRET }, connection, logger: silent });
    await Promise.all((hooks?.deliveries ?? []).map((d) => d.worker.waitUntilReady()));
    await new Promise((r) => setTimeout(r, 500)); // the fan-out's consumer group exists
    const stream = invitebusKeys(cfg.redis.prefix).events;
    const written = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < N; i += 500) {
      const batch = connection.pipeline();
      for (let j = i; j < Math.min(N, i + 500); j++) {
        batch.xadd(
          stream,
          '*',
          'type',
          'invite.succeeded',
          'inviteId',
          `inv-${j}`,
          'account',
          'acme',
          'email',
          `w${j}@example.com`,
          'outcome',
          'invited',
          'attempts',
          '1',
          'finishedAt',
          String(Date.now()),
        );
      }
      for (const [, id] of (await batch.exec()) ?? []) written.set(String(id), Date.now());
    }
    await waitFor(() => rec.arrivals.length >= N, 120_000);
    const oursSeconds = (Math.max(...rec.arrivals.map((a) => a.at)) - t0) / 1000;
    const latencies = rec.arrivals.map((a) => a.at - (written.get(a.id) ?? a.at)).sort((a, b) => a - b);
    // Then as invites finish in real life, one event every 10 ms: the time from outcome to receiver alone.
    rec.arrivals.length = 0;
    written.clear();
    for (let i = 0; i < TRICKLE; i++) {
      const id = await connection.xadd(
        stream,
        '*',
        'type',
        'invite.succeeded',
        'inviteId',
        `t-${i}`,
        'account',
        'acme',
        'outcome',
        'invited',
        'finishedAt',
        String(Date.now()),
      );
      written.set(String(id), Date.now());
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => rec.arrivals.length >= TRICKLE, 60_000);
    const trickle = rec.arrivals.map((a) => a.at - (written.get(a.id) ?? a.at)).sort((a, b) => a - b);
    await hooks?.close();
    await connection.quit();

    // Baseline: the same bodies POSTed by a bare got loop, CONCURRENCY at a time.
    rec.arrivals.length = 0;
    const client = got.extend({ agent: { http: new http.Agent({ keepAlive: true }) }, retry: { limit: 0 }, throwHttpErrors: false });
    const b0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          await client.post(rec.url, { json: { type: 'invite.succeeded', data: { inviteId: `inv-${i}` } }, headers: { 'webhook-id': `b${i}` } });
        }
      }),
    );
    const bareSeconds = (Date.now() - b0) / 1000;
    const ours = N / oursSeconds;
    const bare = N / bareSeconds;
    const name = `5. webhook delivery (${N} events, concurrency ${CONCURRENCY}, local receiver)`;
    return [
      {
        scenario: name,
        metric: 'deliveries/s',
        value: ours,
        unit: '/s',
        baseline: { name: 'bare got POST loop, same concurrency', value: bare },
        ratio: ours / bare,
        target: '≥ 0.8 × baseline',
        met: ours / bare >= 0.8,
      },
      { scenario: name, metric: 'outcome → received, events every 10 ms, p50', value: percentile(trickle, 50), unit: 'ms' },
      { scenario: name, metric: 'outcome → received, events every 10 ms, p99', value: percentile(trickle, 99), unit: 'ms' },
      { scenario: name, metric: `outcome → received, ${N} at once, p50`, value: percentile(latencies, 50), unit: 'ms', note: 'queued behind earlier events' },
      { scenario: name, metric: `outcome → received, ${N} at once, p99`, value: percentile(latencies, 99), unit: 'ms' },
    ];
  } finally {
    await rec.close();
    await r.destroy();
  }
}
