import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startServer } from '../api/serve.ts';
import type { BatchStatus } from '../batches.ts';
import { parseConfig } from '../config/load.ts';
import { type OwnRedis, redisServerOnPath, startOwnRedis } from '../embedded-redis.ts';
import { readCsv } from '../input/readers.ts';
import { adapterOf, inviteFieldNames } from '../providers/index.ts';
import { openCommandRedis } from '../redis.ts';
import { SANDBOX_CREDENTIALS, startSandbox } from '../sandbox/index.ts';

/** The bundled sample: 40 hires, two of them listed again in other letter case, two rows that cannot be valid. */
export const SAMPLE = join(import.meta.dirname, '../../examples/hires.csv');

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
export async function runDemo(options: { redisUrl?: string | undefined; sample?: string } = {}): Promise<number> {
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
      (await openCommandRedis(redisUrl)).disconnect();
    } catch (error) {
      process.stderr.write(`demo: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const sandbox = await startSandbox({ chaos: { rate429: 0.08, latencyMs: 20 }, members: ALREADY_MEMBERS });
  line('demo: sandbox providers (8% of calls rate-limited, 20 ms latency):');
  for (const [id, server] of Object.entries(sandbox.servers)) line(`  ${id.padEnd(12)} ${server.url}`);

  const token = randomBytes(16).toString('hex');
  const config = parseConfig({
    redis: { url: redisUrl, prefix: `invitebus-demo-${started}` },
    defaults: { retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 }, rateLimited: { baseDelayMs: 300, maxDelayMs: 2_000 } },
    worker: { shutdownTimeoutMs: 5_000 },
    api: { port: 0, token: { env: 'DEMO_API_TOKEN' } },
    log: { level: 'warn' },
    accounts: sandbox.accounts,
  });
  const server = await startServer(config, {
    env: { ...SANDBOX_CREDENTIALS, DEMO_API_TOKEN: token },
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
      `demo: ${rows.length + unreadable.length} rows in the sample (${unreadable.length} unreadable: line ${unreadable.join(', ')}), each invited into 5 providers`,
    );

    const accounts = Object.keys(sandbox.accounts);
    const enqueued: Record<string, { accepted: number; duplicates: number; rejected: number }> = {};
    for (const account of accounts) {
      // Each row with the provider's example fields (a role, ...), keeping only the fields its schema knows.
      const adapter = adapterOf(String(sandbox.accounts[account]?.provider));
      const known = inviteFieldNames(adapter);
      const trimmed = rows.map((r) =>
        Object.fromEntries(Object.entries({ ...r, ...adapter.sandbox.exampleInvite }).filter(([field]) => known.includes(field))),
      );
      const { status, json } = await api('POST', '/v1/invites', { account, batchId: `demo-${account}`, invites: trimmed });
      if (status !== 202) throw new Error(`POST /v1/invites for ${account} answered ${status}: ${JSON.stringify(json)}`);
      enqueued[account] = { accepted: Number(json.accepted), duplicates: Number(json.duplicates), rejected: (json.rejected as unknown[]).length };
    }
    const totalAccepted = Object.values(enqueued).reduce((a, e) => a + e.accepted, 0);
    line(`demo: ${totalAccepted} invites accepted through POST /v1/invites; delivering...`);

    const deadline = Date.now() + 100_000;
    let statuses: Record<string, BatchStatus> = {};
    for (;;) {
      statuses = {};
      for (const account of accounts) statuses[account] = (await api('GET', `/v1/batches/demo-${account}`)).json as unknown as BatchStatus;
      const done = Object.values(statuses).reduce((a, s) => a + s.done, 0);
      const progress = `  ${done}/${totalAccepted} finished (${Object.entries(statuses)
        .map(([a, s]) => `${a.replace('sandbox-', '')} ${s.done}/${s.total}`)
        .join(', ')})`;
      if (process.stdout.isTTY) process.stdout.write(`\r${progress}`);
      const complete = Object.values(statuses).every((s) => s.complete);
      if (complete || Date.now() > deadline) {
        if (process.stdout.isTTY) process.stdout.write('\n');
        else line(progress);
        break;
      }
      await new Promise((r) => setTimeout(r, process.stdout.isTTY ? 200 : 1000));
    }

    const waits = (await server.producer.events().read('-', 100_000)).filter((e) => e.fields.type === 'account.rate_limited').length;
    line('');
    line('provider      accepted  dup  rejected  invited  already_member  failed  done');
    let ok = true;
    for (const account of accounts) {
      const e = enqueued[account] ?? { accepted: 0, duplicates: 0, rejected: 0 };
      const s = statuses[account] as BatchStatus;
      const adds = e.accepted + e.duplicates + e.rejected === rows.length && s.done === e.accepted && s.total === e.accepted && s.complete;
      ok &&= adds;
      const n = (v: number, w: number) => String(v).padStart(w);
      line(
        `${account.replace('sandbox-', '').padEnd(12)} ${n(e.accepted, 9)} ${n(e.duplicates, 4)} ${n(e.rejected, 9)} ${n(s.outcomes.invited ?? 0, 8)} ${n(s.outcomes.already_member ?? 0, 15)} ${n(s.failed, 7)}  ${adds ? 'ok' : 'MISMATCH'}`,
      );
    }
    line('');
    line(`demo: ${waits} rate-limit waits honoured, ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    line(
      ok
        ? 'demo: every invite reached a terminal outcome and the numbers add up'
        : 'demo: INCOMPLETE: some invites have no terminal outcome or the numbers do not add up',
    );
    return ok ? 0 : 1;
  } finally {
    await server.close();
    await sandbox.close();
    if (own !== undefined) await own.destroy();
    else await deleteKeys(redisUrl, `${config.redis.prefix}:*`);
  }
}
