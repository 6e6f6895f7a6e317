/**
 * The mistakes of a newcomer's first hour, each answered by one sentence that says what to do, run as the
 * user runs them: the CLI as a subprocess. Time bounds are generous ceilings (what the user would call
 * "hangs"), not benchmarks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { freePort, type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { BIN, useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const dir = tempDir('ib-first-hour-');
const cli = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_API_TOKEN: 'api-token', INVITEBUS_CONFIG: undefined });
let fake: FakeServer;
let deadUrl: string;

/**
 * A one-shot command gives up on an unreachable Redis after its 3 s connect deadline (ioredis alone would retry
 * forever). A run that ends later than this hung; the ceiling leaves room for the process's own start, which on a
 * loaded two-core machine has taken 7 s beside three other CLI processes.
 */
const CONNECT_DEADLINE_MS = 3_000;
const HANG_MS = 20_000;

/** Writes a config with one Better Stack account and the given Redis URL; returns its path. */
function writeConfig(name: string, redisUrl: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.json`);
  const config = {
    redis: { url: redisUrl, prefix: `${redis.prefix}-${name}` },
    worker: { shutdownTimeoutMs: 2_000 },
    accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } } } },
    ...extra,
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The lines of a pino log that are warnings about Redis being unreachable. */
const outageWarnings = (log: string) => log.split('\n').filter((l) => l.includes('"level":40') && l.includes('is unreachable'));

async function timedFetch(url: string, init: RequestInit = {}) {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text(), ms: Date.now() - started };
}

beforeAll(async () => {
  fake = await startFakeServer(betterstackHandler({}));
  deadUrl = `redis://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  await fake.close();
});

describe.concurrent('when Redis cannot be reached', () => {
  it.each([['stats'], ['status', 'b1'], ['report', 'b1'], ['enqueue', '--account', 'acme', '--file', join(import.meta.dirname, '../../examples/hires.csv')]])(
    '`%s` prints one line naming the URL and the fix, and exits 2 after its connect deadline, not hanging',
    { timeout: 40_000 },
    async (...args) => {
      const config = writeConfig('dead', deadUrl);
      const run = await cli.run(['--config', config, ...args]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`cannot reach Redis at ${deadUrl}`);
      expect(lines[0]).toMatch(/start Redis there, or point invitebus at yours with --redis-url, REDIS_URL or redis\.url/);
      // It tried for its deadline (a Redis restarting is waited for), then stopped.
      expect(run.ms).toBeGreaterThanOrEqual(CONNECT_DEADLINE_MS);
      expect(run.ms).toBeLessThan(HANG_MS);
    },
  );

  it('never shows a password from the Redis URL', async () => {
    const url = deadUrl.replace('redis://', 'redis://:hunter2secret@');
    const run = await cli.run(['--config', writeConfig('dead-pw', url), 'stats']);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('hunter2secret');
    expect(run.stderr).toContain('***');
  });

  it('`demo` with an unreachable REDIS_URL exits 2 with one line', { timeout: 40_000 }, async () => {
    const run = await cli.run(['demo'], { REDIS_URL: deadUrl });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`cannot reach Redis at ${deadUrl}`);
    expect(run.ms).toBeLessThan(HANG_MS);
  });
});

describe('REDIS_URL and --redis-url', () => {
  it('REDIS_URL wins over redis.url of the config; --redis-url wins over both', async () => {
    const config = writeConfig('override', deadUrl);
    const viaEnv = await cli.run(['--config', config, 'stats', '--json'], { REDIS_URL: redis.url });
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toEqual([expect.objectContaining({ account: 'acme', waiting: 0 })]);

    const viaFlag = await cli.run(['--config', config, '--redis-url', redis.url, 'stats', '--json'], { REDIS_URL: deadUrl });
    expect(viaFlag.code).toBe(0);

    const flagLoses = await cli.run(['--config', writeConfig('override-2', redis.url), '--redis-url', deadUrl, 'stats']);
    expect(flagLoses.code).toBe(2);
    expect(flagLoses.stderr).toContain(deadUrl);
  });

  it('a REDIS_URL that is not a Redis URL is a configuration error naming redis.url', async () => {
    const run = await cli.run(['--config', writeConfig('bad-url', redis.url), 'stats'], { REDIS_URL: 'localhost:6379' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('redis.url: must be a redis:// or rediss:// URL');
  });
});

describe('serve and worker through a Redis outage', () => {
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(async () => {
    await own.destroy();
  });

  it('serve --with-workers logs one warning per outage, answers /readyz 503 and /metrics within 2 s, and recovers', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const serve = cli.start(['--config', writeConfig('serve-outage', own.url), 'serve', '--with-workers', '--port', String(port)]);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 15_000, 'serve ready');

    await own.stop('SIGKILL');
    const ready = await timedFetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('is unreachable');
    expect(ready.ms).toBeLessThan(2_000);
    const metrics = await timedFetch(`${base}/metrics`, { headers: { authorization: 'Bearer api-token' } });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('invitebus_redis_up 0');
    expect(metrics.ms).toBeLessThan(2_000);
    // Several seconds of reconnect attempts by every connection of the process: still one warning.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(outageWarnings(serve.stdout())).toHaveLength(1);
    expect(serve.child.exitCode).toBeNull();

    await own.start();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, 'ready again');
    await waitFor(() => serve.stdout().includes('answers again'), 5_000, 'recovery logged');
    // A second outage is a second warning.
    await own.stop('SIGKILL');
    await waitFor(() => outageWarnings(serve.stdout()).length === 2, 10_000, 'second warning');
    await own.start();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, 'ready after the second outage');

    serve.child.kill('SIGTERM');
    const end = await serve.done;
    expect(end.code).toBe(0);
    expect(end.stderr).toBe('');
  });

  it('a worker started while Redis is away warns once, keeps retrying and works once Redis answers', async () => {
    await own.stop('SIGKILL');
    const config = writeConfig('worker-outage', own.url);
    const worker = cli.start(['--config', config, 'worker']);
    await waitFor(() => outageWarnings(worker.stdout()).length > 0, 10_000, 'outage warning');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(outageWarnings(worker.stdout())).toHaveLength(1);
    expect(worker.child.exitCode).toBeNull();

    await own.start();
    await waitFor(() => worker.stdout().includes('workers started'), 15_000, 'workers started');
    const producer = new Producer(parseConfig(JSON.parse(readFileSync(config, 'utf8'))));
    try {
      const { id } = await producer.invite('acme', { email: 'after-outage@example.com' });
      // Removed as it completes: its sent record says it was delivered.
      await waitFor(async () => (await producer.events().sentRecord('acme', id)) !== undefined, 15_000, 'invite delivered');
    } finally {
      await producer.close();
    }
    worker.child.kill('SIGTERM');
    expect((await worker.done).code).toBe(0);
  });

  it('SIGTERM while the start still waits for Redis ends the process with 0', async () => {
    await own.stop('SIGKILL');
    const worker = cli.start(['--config', writeConfig('worker-stop', own.url), 'worker']);
    await waitFor(() => outageWarnings(worker.stdout()).length > 0, 10_000, 'outage warning');
    worker.child.kill('SIGTERM');
    const end = await worker.done;
    expect(end.code).toBe(0);
    await own.start();
  });
});

describe.concurrent('usage mistakes', () => {
  it('serve --with-workers with a missing credential lists it and exits 2', async () => {
    const run = await cli.run(['--config', writeConfig('no-cred', redis.url), 'serve', '--with-workers', '--port', '0'], { BS_TOKEN: undefined });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("account 'acme' has no credentials.token: set the environment variable BS_TOKEN");
    expect(run.ms).toBeLessThan(HANG_MS);
  });

  it('enqueue of a file that is not there exits 2 with one line naming the path and the folder it was looked for in', async () => {
    const run = await cli.run(['--config', writeConfig('no-file', redis.url), 'enqueue', '--account', 'acme', '--file', 'examples/hire.csv']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^--file examples\/hire\.csv: no such file \(a relative path is read from .+\)$/)]);
  });

  it('enqueue of a CSV with no profile column and neither --account nor --profile exits 2 before reading a row', async () => {
    const file = join(dir, 'no-targets.csv');
    writeFileSync(file, 'email,role\nann@example.com,member\nben@example.com,member\n');
    const run = await cli.run(['--config', writeConfig('no-targets', redis.url), 'enqueue', '--file', file, '--batch', 'no-targets']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`${file} has no profile column: give --account a,b or --profile NAME to say which tools these people get`]);
    const status = await cli.run(['--config', writeConfig('no-targets', redis.url), 'status', 'no-targets']);
    expect(status.stdout + status.stderr).toContain("no batch 'no-targets'");
  });

  it('a missing required option exits 2 with the usage', async () => {
    const run = await cli.run(['--config', writeConfig('usage', redis.url), 'enqueue', '--account', 'acme']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--file <path>' not specified");
  });

  it('an unknown command exits 2', async () => {
    const run = await cli.run(['frobnicate']);
    expect(run.code).toBe(2);
  });

  it('--version and --help exit 0', async () => {
    const version = await cli.run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await cli.run(['--help'])).code).toBe(0);
  });

  it('`report | head` ends quietly', async () => {
    const configPath = writeConfig('report-head', redis.url);
    const producer = new Producer(parseConfig(JSON.parse(readFileSync(configPath, 'utf8'))), { redis: redis.connect() });
    const invites = Array.from({ length: 3_000 }, (_, i) => ({ email: `person${i}@example.com` }));
    await producer.inviteMany('acme', invites, { batchId: 'big' });
    await producer.close();
    await producer.redis.quit();
    // The shell pipes the report into `head -n 2`, which leaves after two lines.
    const pipeline = `'${process.execPath}' '${BIN}' --config '${configPath}' report big | head -n 2; echo "report exit $\{PIPESTATUS[0]}" >&2`;
    const run = await cli.start(['-c', pipeline], {}, ['bash']).done;
    expect(run.stdout.trim().split('\n')).toHaveLength(2);
    expect(run.stderr.trim()).toBe('report exit 0');
  });
});

describe('sandbox --write-config', () => {
  it('prints every export, INVITEBUS_API_TOKEN included, and writes a config that serve runs as is and the sample enqueues into', {
    timeout: 60_000,
  }, async () => {
    const path = join(dir, 'sandbox.config.json');
    const sandbox = cli.start(['sandbox', '--port', '0', '--write-config', path]);
    await waitFor(() => sandbox.stdout().includes('INVITEBUS_API_TOKEN='), 10_000, 'sandbox exports');
    const exports = Object.fromEntries([...sandbox.stdout().matchAll(/export (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    expect(exports.INVITEBUS_API_TOKEN).toMatch(/^\w{16,}$/);

    const apiPort = await freePort();
    const env = { BS_TOKEN: undefined, INVITEBUS_API_TOKEN: undefined, ...exports, REDIS_URL: redis.url };
    const serve = cli.start(['--config', path, 'serve', '--with-workers', '--port', String(apiPort)], env);
    const base = `http://127.0.0.1:${apiPort}`;
    const stats = await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/stats`, { headers: { authorization: `Bearer ${exports.INVITEBUS_API_TOKEN}` } }).catch(() => undefined);
        return res?.status === 200 ? ((await res.json()) as { accounts: Array<{ account: string }> }) : undefined;
      },
      15_000,
      'serve on the written config',
    );
    // The docs' example account names: every example of the docs pastes into this config as written.
    expect(stats.accounts.map((a) => a.account).sort()).toEqual(['acme-closient', 'acme-stellas', 'acme-sutro', 'acme-unibee', 'acme-uptime']);
    // The sample's profile column names the written config's profiles: by profile and by --account, it reads.
    const sample = join(import.meta.dirname, '../../examples/hires.csv');
    const byProfile = await cli.run(['--config', path, 'enqueue', '--file', sample, '--dry-run'], env);
    expect(byProfile.stderr).not.toContain('unknown profile');
    expect(byProfile.stdout).toMatch(/44 rows, accepted 133, duplicates 8, rejected 4 \(dry run/);
    const byAccount = await cli.run(['--config', path, 'enqueue', '--file', sample, '--account', 'acme-uptime', '--dry-run'], env);
    expect(byAccount.stdout).toMatch(/44 rows, accepted 40, duplicates 2, rejected 2 \(dry run/);
    serve.child.kill('SIGTERM');
    sandbox.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
    expect((await sandbox.done).code).toBe(0);
  });
});
