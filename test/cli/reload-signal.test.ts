/**
 * SIGHUP reloads a running `invitebus worker` (the CLI entry, as users run it, wrapper process included): an
 * added account starts and delivers; an invalid file is refused with one line and the worker keeps running.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();
const configFile = join(tempDir('ib-sighup-'), 'invitebus.config.json');
const { start } = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_CONFIG: configFile });

describe('invitebus worker on SIGHUP', () => {
  it('reloads its config: an added account delivers; an invalid file is refused and the worker keeps running', { timeout: 45_000 }, async () => {
    const fakes = { acme: await startFakeServer(betterstackHandler()), beta: await startFakeServer(betterstackHandler()) };
    cleanups.push(
      () => fakes.acme.close(),
      () => fakes.beta.close(),
    );
    const account = (url: string) => ({ provider: 'betterstack', baseUrl: url, credentials: { token: { env: 'BS_TOKEN' } } });
    const raw = (accounts: Record<string, unknown>) => ({ redis: { url: redis.url, prefix: redis.prefix }, worker: { shutdownTimeoutMs: 3_000 }, accounts });
    writeFileSync(configFile, JSON.stringify(raw({ acme: account(fakes.acme.url) })));
    const worker = start(['worker']);
    await waitFor(() => worker.stdout().includes('workers started') || worker.child.exitCode !== null, 20_000, 'the worker to start');
    expect(worker.child.exitCode, worker.stderr()).toBeNull();

    const next = raw({ acme: account(fakes.acme.url), beta: account(fakes.beta.url) });
    const connection = redis.connect();
    const producer = new Producer(parseConfig(next), { redis: connection });
    cleanups.push(() => producer.close().then(() => connection.quit()));
    await producer.inviteMany('beta', [{ email: 'b1@example.com' }, { email: 'b2@example.com' }]);
    writeFileSync(configFile, JSON.stringify(next));
    worker.child.kill('SIGHUP');
    await waitFor(() => worker.stdout().includes('config reloaded: added beta (1 unchanged)'), 15_000, 'the reload line');
    await waitFor(() => fakes.beta.requests.length === 2, 15_000, "beta's two invites delivered");

    writeFileSync(configFile, '{ "accounts": ');
    worker.child.kill('SIGHUP');
    await waitFor(() => worker.stdout().includes('config reload refused'), 15_000, 'the refusal line');
    expect(worker.stdout()).toMatch(/config reload refused, the running config is kept: config file .* is not valid JSON/);
    expect(worker.child.exitCode).toBeNull();
    // Still serving both accounts with the running config.
    await producer.invite('acme', { email: 'a1@example.com' });
    await waitFor(() => fakes.acme.requests.length === 1, 15_000, "acme's invite delivered after the refused reload");

    worker.child.kill('SIGTERM');
    const { code } = await worker.done;
    expect(code, worker.stderr()).toBe(0);
  });
});
