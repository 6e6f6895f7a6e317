import { pino } from 'pino';
import { parseConfig } from '../config/load.ts';
import { type OwnRedis, redisServerOnPath, startOwnRedis } from '../embedded-redis.ts';
import { Producer } from '../producer.ts';
import { betterstackHandler } from '../sandbox/betterstack.ts';
import { startFakeServer, withRateLimit } from '../sandbox/server.ts';
import { runWorkers } from '../worker/run.ts';
import { demoSample } from './sample.ts';

const ACCOUNT = 'demo-betterstack';
/** The sandbox's token: not a secret, it only opens the local fake. */
const SANDBOX_TOKEN = 'sandbox-token';

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * The whole pipeline on one machine, on embedded defaults: a Redis (REDIS_URL, else a redis-server of its
 * own), a local Better Stack sandbox that rate-limits at 20 calls/s, the workers and a producer. Enqueues
 * the sample, waits until every invite has a terminal outcome, prints the table. Returns the exit code.
 */
export async function runDemo(options: { redisUrl?: string | undefined; count?: number } = {}): Promise<number> {
  const started = Date.now();
  let own: OwnRedis | undefined;
  let redisUrl = options.redisUrl;
  if (redisUrl === undefined) {
    if (!redisServerOnPath()) {
      line('demo: no Redis. Set REDIS_URL=redis://host:port, or install redis-server (apt-get install redis-server), or run `docker compose up -d redis`.');
      return 2;
    }
    own = await startOwnRedis();
    redisUrl = own.url;
    line(`demo: started redis-server on ${redisUrl} (temporary, removed at the end)`);
  }

  const sample = demoSample(options.count);
  const fake = await startFakeServer(
    withRateLimit(betterstackHandler({ tokens: [SANDBOX_TOKEN], members: sample.members }), {
      max: 20,
      windowMs: 1000,
      body: { errors: 'Too many invitations sent. Please try again later.' },
    }),
  );
  line(`demo: Better Stack sandbox on ${fake.url} (20 calls/s, then 429 with Retry-After)`);

  const prefix = `invitebus-demo-${started}`;
  const config = parseConfig({
    redis: { url: redisUrl, prefix },
    defaults: { retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 2_000 } },
    worker: { shutdownTimeoutMs: 5_000 },
    accounts: {
      // Configured a little above what the sandbox allows, as users do when the provider publishes no limit.
      [ACCOUNT]: {
        provider: 'betterstack',
        baseUrl: fake.url,
        credentials: { token: { env: 'DEMO_BETTERSTACK_TOKEN' } },
        concurrency: 8,
        rateLimit: { max: 25, durationMs: 1000 },
      },
    },
  });
  const workers = await runWorkers(config, { env: { DEMO_BETTERSTACK_TOKEN: SANDBOX_TOKEN }, logger: pino({ level: 'warn' }) });
  const producer = new Producer(config);
  const events = producer.events();
  try {
    const result = await producer.inviteMany(ACCOUNT, sample.invites);
    line(`demo: enqueued ${sample.invites.length} rows → accepted ${result.accepted}, duplicates ${result.duplicates}, rejected ${result.rejected.length}`);
    for (const r of result.rejected) line(`  row ${r.index}: ${r.field}: ${r.message}`);

    const counts = new Map<string, number>();
    let lastId = '-';
    let done = 0;
    const deadline = Date.now() + 110_000;
    while (done < result.accepted && Date.now() < deadline) {
      for (const e of await events.read(lastId)) {
        lastId = e.id;
        if (!e.fields.type?.startsWith('invite.')) continue;
        done += 1;
        const key = `${e.fields.type} ${e.fields.outcome}${e.fields.reasonClass ? ` (${e.fields.reasonClass})` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (process.stdout.isTTY) process.stdout.write(`\r  delivered ${done}/${result.accepted}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (process.stdout.isTTY) process.stdout.write('\n');

    const calls = fake.requests.length;
    const limited = (await events.read()).filter((e) => e.fields.type === 'account.rate_limited').length;
    line('');
    line(`provider     account           outcome                              invites`);
    for (const [key, n] of [...counts].sort()) line(`betterstack  ${ACCOUNT}  ${key.padEnd(36)} ${String(n).padStart(7)}`);
    line(`${''.padEnd(67)}-------`);
    line(`${'terminal'.padEnd(67)}${String(done).padStart(7)}`);
    line('');
    line(`demo: ${calls} calls to the sandbox, ${limited} rate-limit waits, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const ok = done === result.accepted && result.accepted + result.duplicates + result.rejected.length === sample.invites.length;
    line(ok ? 'demo: every invite reached a terminal outcome and the numbers add up' : `demo: INCOMPLETE: ${done}/${result.accepted} invites finished`);
    return ok ? 0 : 1;
  } finally {
    await workers.close();
    await producer.close();
    await fake.close();
    if (own !== undefined) await own.destroy();
  }
}
