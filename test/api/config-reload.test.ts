/**
 * POST /v1/config/reload on a real `serve --with-workers` (a real port, a real config file): an operator action
 * that applies an edited file's accounts, or answers 422 with every problem and keeps the running config.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve.ts';
import { configPath, loadConfig } from '../../src/config/load.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { captureLogs } from '../support/log-capture.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'reload-test-token-0123456789';
const READ_TOKEN = 'reload-read-token-0123456789';
const SECRET = 'bs-team-token';
const dir = tempDir('ib-reload-api-');
const file = join(dir, 'invitebus.config.json');
const logs = captureLogs('info');

let fake: FakeServer;
let server: RunningServer;

function writeConfig(accounts: Record<string, unknown>, redisChanges: Record<string, unknown> = {}): void {
  writeFileSync(
    file,
    JSON.stringify({
      redis: { url: redis.url, prefix: redis.prefix, ...redisChanges },
      api: { port: 0, readOnlyTokens: [{ env: 'READ_TOKEN' }] },
      worker: { shutdownTimeoutMs: 5_000 },
      accounts,
    }),
  );
}
// The token is read from a file: it must never reach the log.
const account = () => ({ provider: 'betterstack', baseUrl: fake.url, credentials: { token: { file: 'bs-token.txt' } } });

async function reload(token = TOKEN) {
  const res = await fetch(`${server.url}/v1/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  fake = await startFakeServer(betterstackHandler());
  writeFileSync(join(dir, 'bs-token.txt'), SECRET);
  writeConfig({ acme: account() });
  const load = () => loadConfig(configPath(file, {}));
  server = await startServer(load(), {
    env: { INVITEBUS_API_TOKEN: TOKEN, READ_TOKEN },
    logger: logs.logger,
    port: 0,
    withWorkers: true,
    load,
  });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('POST /v1/config/reload', () => {
  it('is an operator action: no token 401, a read-only token 403', async () => {
    const none = await fetch(`${server.url}/v1/config/reload`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect((await reload(READ_TOKEN)).status).toBe(403);
  });

  it('answers 422 with every problem of an invalid file, logs one line, and keeps the running config', async () => {
    writeConfig({ acme: account(), beta: { provider: 'nope' }, 'Bad Name': account() });
    const before = logs.lines.length;

    const { status, body } = await reload();

    expect(status).toBe(422);
    expect(body.error).toBe('reload_refused');
    expect(body.problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^accounts\.beta\.provider: unknown provider/), expect.stringMatching(/^accounts\.Bad Name/)]),
    );
    const said = logs.lines.slice(before);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/config reload refused, the running config is kept: accounts\.beta\.provider: unknown provider/);
    expect(server.reloader?.config.accounts).not.toHaveProperty('beta');
  });

  it('refuses a new Redis prefix: it needs a restart', async () => {
    writeConfig({ acme: account() }, { prefix: `${redis.prefix}-moved` });
    const { status, body } = await reload();
    expect(status).toBe(422);
    expect(body.problems).toEqual([expect.stringMatching(/^redis\.prefix changed, which needs a restart \(Redis connection settings and the key prefix\)/)]);
  });

  it('applies an added account: the API takes invites for it, the workers deliver them, the dashboard lists it; one log line, no secret', async () => {
    writeConfig({ acme: account(), beta: account() });
    const before = logs.lines.length;

    const { status, body } = await reload();

    expect(status).toBe(200);
    expect(body).toEqual({ applied: true, added: ['beta'], removed: [], changed: [], unchanged: 1, message: 'config reloaded: added beta (1 unchanged)' });
    const said = logs.lines.slice(before).filter((l) => /config reload/.test(l));
    expect(said).toHaveLength(1);
    expect(JSON.parse(said[0] as string)).toMatchObject({ msg: 'config reloaded: added beta (1 unchanged)', added: ['beta'] });
    expect(logs.lines.join('')).not.toContain(SECRET);

    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const sent = await fetch(`${server.url}/v1/invites`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ account: 'beta', batchId: 'reload-1', invite: { email: 'new@example.com' } }),
    });
    expect(sent.status).toBe(202);
    await waitFor(async () => ((await (await fetch(`${server.url}/v1/batches/reload-1`, { headers })).json()) as { complete: boolean }).complete);
    const queues = (await (await fetch(`${server.url}/dashboard/api/queues`, { headers })).json()) as { queues: Array<{ name: string }> };
    expect(queues.queues.map((q) => q.name).sort()).toEqual(['acme', 'beta']);
  });
});
