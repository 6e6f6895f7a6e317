import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { startServer } from '../api/serve.ts';
import type { BatchStatus } from '../batches.ts';
import { parseConfig } from '../config/load.ts';
import { type OwnRedis, redisServerOnPath, startOwnRedis } from '../embedded-redis.ts';
import { readCsv } from '../input/readers.ts';
import { openRedis } from '../redis-connection/factory.ts';
import { SAMPLE_PROFILES, SANDBOX_CREDENTIALS, sampleProfiles, startSandbox } from '../sandbox/index.ts';
import { startFakeServer } from '../sandbox/server.ts';
import { PACKAGE_ROOT } from '../version.ts';

/** The bundled sample: 40 hires, two of them listed again in other letter case, two rows that cannot be valid. */
export const SAMPLE = join(PACKAGE_ROOT, 'examples/hires.csv');

/** What the demo's HR system subscribes to. */
const DEMO_WEBHOOK_EVENTS = ['invite.succeeded', 'invite.failed', 'batch.completed'];

/**
 * The HR system's side: a local receiver that checks every delivery's signature with the standardwebhooks
 * package and keeps each event once, by its webhook-id.
 */
async function startReceiver(secret: string) {
  const verifier = new Webhook(secret);
  const seen = new Map<string, string>();
  let invalid = 0;
  let requests = 0;
  const server = await startFakeServer((req) => {
    requests += 1;
    try {
      const event = verifier.verify(req.body, req.headers as Record<string, string>) as { type: string };
      seen.set(String(req.headers['webhook-id']), event.type);
      return { status: 204 };
    } catch {
      invalid += 1;
      return { status: 400, body: { error: 'bad signature' } };
    }
  });
  return {
    url: server.url,
    distinct: () => seen.size,
    invalid: () => invalid,
    requests: () => requests,
    byType: () => Object.fromEntries([...new Set(seen.values())].map((t) => [t, [...seen.values()].filter((v) => v === t).length])),
    close: () => server.close(),
  };
}

/** Hires that are already members at the sandbox providers. */
const ALREADY_MEMBERS = ['alan.backus1@example.com', 'edsger.turing3@example.com', 'ken.dijkstra9@example.com'];

/** Removes the demo's keys from a Redis it did not start. */
async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    await redis.quit();
  }
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * The whole system on one machine, on embedded defaults: a Redis (REDIS_URL, else a redis-server of its own),
 * the five-provider sandbox (8% of calls answered with each provider's rate-limit signal, 20 ms latency), the
 * API with the workers, and the bundled hires invited into all five tools through the API. Waits until every
 * invite has a terminal outcome and prints a table per provider. Returns the exit code.
 */
export async function runDemo(
  options: {
    redisUrl?: string | undefined;
    sample?: string;
    /** Leave the API, console, workers and sandbox running after the run, until this resolves (Ctrl-C). */
    keepUntil?: () => Promise<void>;
  } = {},
): Promise<number> {
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
  } else {
    try {
      (await openRedis({ redis: { url: redisUrl, prefix: 'invitebus' }, baseDir: process.cwd() })).disconnect();
    } catch (error) {
      process.stderr.write(`demo: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const sandbox = await startSandbox({ chaos: { rate429: 0.08, latencyMs: 20 }, members: ALREADY_MEMBERS });
  line('demo: sandbox providers (8% of calls rate-limited, 20 ms latency):');
  for (const [id, server] of Object.entries(sandbox.servers)) line(`  ${id.padEnd(12)} ${server.url}`);

  const token = randomBytes(16).toString('hex');
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const receiver = await startReceiver(webhookSecret);
  line(`demo: the HR system's webhook receiver on ${receiver.url} (checks every signature)`);
  const profiles = sampleProfiles((id) => `sandbox-${id}`);
  const config = parseConfig({
    redis: { url: redisUrl, prefix: `invitebus-demo-${started}` },
    defaults: { retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 }, rateLimited: { baseDelayMs: 300, maxDelayMs: 2_000 } },
    worker: { shutdownTimeoutMs: 5_000 },
    api: { port: 0, token: { env: 'DEMO_API_TOKEN' } },
    log: { level: 'warn' },
    accounts: sandbox.accounts,
    profiles,
    webhooks: {
      'hr-system': {
        url: `${receiver.url}/invitebus`,
        secret: { env: 'DEMO_WEBHOOK_SECRET' },
        events: DEMO_WEBHOOK_EVENTS,
        retryScheduleMs: [200, 500, 1_000],
      },
    },
  });
  const server = await startServer(config, {
    env: { ...SANDBOX_CREDENTIALS, DEMO_API_TOKEN: token, DEMO_WEBHOOK_SECRET: webhookSecret },
    logger: pino({ level: 'warn' }),
    port: 0,
    withWorkers: true,
  });
  line(`demo: API and workers on ${server.url}`);

  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    const rows: Array<Record<string, unknown>> = [];
    const unreadable: number[] = [];
    for await (const row of readCsv(options.sample ?? SAMPLE)) {
      if ('error' in row) unreadable.push(row.line);
      else rows.push(row.record);
    }
    line(
      `demo: ${rows.length + unreadable.length} rows in the sample (${unreadable.length} unreadable: line ${unreadable.join(', ')}), ` +
        `each into the tools of their profile column (${Object.entries(SAMPLE_PROFILES)
          .map(([name, ids]) => `${name}: ${ids.join(', ')}`)
          .join('; ')})`,
    );
    const onboardingId = `demo-${started}`;
    const { status, json } = await api('POST', '/v1/onboardings', { onboardingId, people: rows });
    if (status !== 202) throw new Error(`POST /v1/onboardings answered ${status}: ${JSON.stringify(json)}`);
    const intake = json as unknown as {
      accepted: number;
      duplicates: number;
      rejected: unknown[];
      byAccount: Record<string, { accepted: number; duplicates: number; rejected: number }>;
    };
    line(`demo: onboarding ${onboardingId}: ${intake.accepted} invites accepted through POST /v1/onboardings; delivering...`);

    const deadline = Date.now() + 100_000;
    let progress: BatchStatus;
    for (;;) {
      progress = (await api('GET', `/v1/onboardings/${onboardingId}`)).json as unknown as BatchStatus;
      const text = `  ${progress.done}/${progress.total} finished (${Object.entries(progress.accounts)
        .map(([a, s]) => `${a.replace('sandbox-', '')} ${s.done}/${s.total}`)
        .join(', ')})`;
      if (process.stdout.isTTY) process.stdout.write(`\r${text}`);
      if (progress.complete || Date.now() > deadline) {
        if (process.stdout.isTTY) process.stdout.write('\n');
        else line(text);
        break;
      }
      await new Promise((r) => setTimeout(r, process.stdout.isTTY ? 200 : 1000));
    }
    // Deliveries of the last events may still be on their way to the receiver.
    const expectedEvents = (await server.producer.events().read('-', 100_000)).filter(
      (e) => DEMO_WEBHOOK_EVENTS.includes(e.fields.type ?? '') && (e.fields.type !== 'batch.completed' || e.fields.batchId === onboardingId),
    );
    const receiveDeadline = Date.now() + 15_000;
    while (receiver.distinct() < expectedEvents.length && Date.now() < receiveDeadline) await new Promise((r) => setTimeout(r, 100));

    const waits = (await server.producer.events().read('-', 100_000)).filter((e) => e.fields.type === 'account.rate_limited').length;
    line('');
    line('tool          accepted  dup  rejected  invited  already_member  failed  done');
    let ok = progress.complete;
    for (const account of Object.keys(sandbox.accounts)) {
      const e = intake.byAccount[account] ?? { accepted: 0, duplicates: 0, rejected: 0 };
      const s = progress.accounts[account] ?? { total: 0, done: 0, succeeded: 0, failed: 0, cancelled: 0, outcomes: {} as Record<string, number> };
      const adds = s.done === e.accepted && s.total === e.accepted;
      ok &&= adds;
      const n = (v: number, w: number) => String(v).padStart(w);
      line(
        `${account.replace('sandbox-', '').padEnd(12)} ${n(e.accepted, 9)} ${n(e.duplicates, 4)} ${n(e.rejected, 9)} ${n(s.outcomes.invited ?? 0, 8)} ${n(s.outcomes.already_member ?? 0, 15)} ${n(s.failed, 7)}  ${adds ? 'ok' : 'MISMATCH'}`,
      );
    }
    const people = (await api('GET', `/v1/onboardings/${onboardingId}/people`)).json as unknown as { people: Array<{ summary: string }> };
    const bySummary = (summary: string) => people.people.filter((p) => p.summary === summary).length;
    line('');
    line(
      `demo: ${people.people.length} people: ${bySummary('done')} done, ${bySummary('needs attention')} ${bySummary('needs attention') === 1 ? 'needs' : 'need'} attention (GET /v1/onboardings/${onboardingId}/people)`,
    );
    const got = receiver.byType();
    const delivered = receiver.distinct() === expectedEvents.length && receiver.invalid() === 0;
    ok &&= delivered;
    line(
      `demo: webhook receiver got ${receiver.distinct()} of ${expectedEvents.length} events (${Object.entries(got)
        .map(([t, c]) => `${t} ${c}`)
        .join(', ')}), ${receiver.invalid() === 0 ? 'every signature valid' : `${receiver.invalid()} INVALID signatures`}, ${receiver.requests()} deliveries`,
    );
    line(`demo: ${waits} rate-limit waits honoured, ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    line(
      ok
        ? 'demo: every invite reached a terminal outcome, the numbers add up and the HR system was told'
        : 'demo: INCOMPLETE: some invites have no terminal outcome, the numbers do not add up or the receiver missed events',
    );
    if (options.keepUntil) {
      line('');
      line(`demo: still running (--keep). The console: ${server.url}/console`);
      line(`demo: log in with the token ${token}`);
      line('demo: Ctrl-C stops everything and removes the demo data');
      await options.keepUntil();
    }
    return ok ? 0 : 1;
  } finally {
    await server.close();
    await sandbox.close();
    await receiver.close();
    if (own !== undefined) await own.destroy();
    else await deleteKeys(redisUrl, `${config.redis.prefix}:*`);
  }
}
