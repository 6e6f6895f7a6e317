import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/config/credentials.ts';
import { parseConfig } from '../../src/config/load.ts';
import { redactPaths } from '../../src/logger.ts';
import type { ProviderAdapter } from '../../src/providers/adapter.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { inviteFieldNames, providers } from '../../src/providers/index.ts';
import { fakeOf } from '../../src/sandbox/fakes.ts';
import { withChaos } from '../../src/sandbox/index.ts';
import { type FakeServer, type RecordedRequest, startFakeServer } from '../../src/sandbox/server.ts';
import type { InviteFields } from '../../src/types.ts';

const SHARED = new Set(['index.ts', 'adapter.ts', 'http.ts']);
const dir = join(import.meta.dirname, '../../src/providers');
// A provider is a folder `<id>/` with an index.ts (or, for a small one, a file `<id>.ts`).
const providerIds = readdirSync(dir, { withFileTypes: true })
  .filter((e) => (e.isFile() && e.name.endsWith('.ts') && !SHARED.has(e.name)) || (e.isDirectory() && existsSync(join(dir, e.name, 'index.ts'))))
  .map((e) => e.name.replace(/\.ts$/, ''));

const adapters = Object.entries(providers as Record<string, ProviderAdapter<unknown, InviteFields>>);

describe('provider registry', () => {
  it.each(providerIds)('registers %s under its own id', (id) => {
    expect(Object.keys(providers)).toContain(id);
    expect((providers as Record<string, { id: string }>)[id]?.id).toBe(id);
  });

  it.each(providerIds)('has a test file for %s that runs the conformance suite', (id) => {
    const testFile = join(import.meta.dirname, `${id}.test.ts`);
    expect(existsSync(testFile), `${testFile} is missing: it runs testProvider() for ${id}`).toBe(true);
    expect(readFileSync(testFile, 'utf8')).toContain('testProvider(');
  });

  it('has no registered provider without a file', () => {
    for (const id of Object.keys(providers)) expect(providerIds).toContain(id);
  });
});

/**
 * What every adapter must bring besides HTTP mapping, so the sandbox, the demo, CSV intake and the logger
 * never name a provider: a sixth provider that forgets one of these fails here.
 */
describe.each(adapters)('%s brings all of its own knowledge', (id, adapter) => {
  const servers: FakeServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  /** A session on the adapter's own sandbox fake, configured exactly as `invitebus sandbox` configures it. */
  async function sandboxSession(chaos: { rate429?: number } = {}) {
    const { handler, rateLimited } = fakeOf(id).fake({ members: ['already@example.com'] });
    const server = await startFakeServer(withChaos(handler, chaos, rateLimited));
    servers.push(server);
    const config = parseConfig({ accounts: { [`sandbox-${id}`]: { provider: id, baseUrl: server.url, ...fakeOf(id).account } } });
    const account = config.accounts[`sandbox-${id}`];
    if (account === undefined) throw new Error('no account');
    const { values, problems } = resolveCredentials(account.name, account.credentials, { ...fakeOf(id).env }, process.cwd());
    expect(problems).toEqual([]);
    const http = createHttpClient({ timeoutMs: 2000 });
    const session = adapter.createSession({ name: account.name, baseUrl: account.baseUrl, settings: account.settings, credentials: values, http });
    const invite = (email: string) => adapter.inviteSchema.parse({ email, ...fakeOf(id).exampleInvite });
    return {
      server,
      deliver: (email: string) => session.deliver(invite(email)),
      close() {
        session.close();
        http.close();
      },
    };
  }

  it('has a sandbox fake that invites its example invite, knows its members and answers its own rate limit', async () => {
    const s = await sandboxSession();
    try {
      expect(await s.deliver('new@example.com')).toMatchObject({ kind: 'invited' });
      expect(await s.deliver('already@example.com')).toMatchObject({ kind: 'already_member' });
    } finally {
      s.close();
    }
    const limited = await sandboxSession({ rate429: 1 });
    try {
      expect(await limited.deliver('limited@example.com')).toMatchObject({ kind: 'rate_limited' });
    } finally {
      limited.close();
    }
  });

  it('declares every request header that carries a secret, so the logger redacts it', async () => {
    const s = await sandboxSession();
    try {
      await s.deliver('headers@example.com');
    } finally {
      s.close();
    }
    const secrets = Object.values(fakeOf(id).env);
    const carriers = (req: RecordedRequest) =>
      Object.entries(req.headers)
        .filter(([, value]) => secrets.some((secret) => String(value).includes(secret)) || /^Bearer /i.test(String(value)))
        .map(([name]) => name.toLowerCase());
    const sent = new Set(s.server.requests.flatMap(carriers));
    expect(sent.size).toBeGreaterThan(0);
    const declared = adapter.secretHeaders.map((h) => h.toLowerCase());
    for (const header of sent) expect(declared, `${id} sends a secret in '${header}'`).toContain(header);
    const paths = redactPaths();
    for (const header of adapter.secretHeaders) expect(paths.some((p) => p.startsWith('headers') && p.includes(header))).toBe(true);
  });

  it('keeps the request id its provider documents with each outcome, or declares that it documents none', async () => {
    const s = await sandboxSession();
    try {
      for (const email of ['request-id@example.com', 'already@example.com']) {
        const outcome = await s.deliver(email);
        if (adapter.requestIdFrom === undefined) expect(outcome.requestId).toBeUndefined();
        else expect(outcome.requestId, `${id}: from ${adapter.requestIdFrom}`).toMatch(/\S/);
      }
    } finally {
      s.close();
    }
  });

  it('declares exactly the invite fields that are lists, so a CSV cell "1;2" becomes a list', () => {
    const base = { email: 'list@example.com', ...fakeOf(id).exampleInvite };
    const takesList = (field: string) => {
      const result = adapter.inviteSchema.safeParse({ ...base, [field]: ['1', '2'] });
      return result.success || !result.error.issues.some((i) => i.path[0] === field);
    };
    const lists = inviteFieldNames(adapter).filter((f) => f !== 'email' && takesList(f));
    expect([...adapter.listFields].sort()).toEqual(lists.sort());
  });

  it('refuses to start a session without a credential it needs (never an empty header)', () => {
    const http = createHttpClient({ timeoutMs: 1000 });
    try {
      const settings = adapter.settingsSchema.parse({ provider: id, ...fakeOf(id).account });
      expect(() => adapter.createSession({ name: 'no-secrets', baseUrl: 'http://127.0.0.1:9', settings, credentials: {}, http })).toThrow(
        expect.objectContaining({ code: 'CREDENTIAL_MISSING', message: expect.stringMatching(/account 'no-secrets' has no credentials\.\w+/) }),
      );
    } finally {
      http.close();
    }
  });

  it('has an example invite its own schema accepts', () => {
    expect(adapter.inviteSchema.safeParse({ email: 'ex@example.com', ...fakeOf(id).exampleInvite }).success).toBe(true);
  });
});
