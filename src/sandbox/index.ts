import { type ProviderId, providerIds } from '../providers/index.ts';
import { fakeOf, fakes } from './fakes.ts';
import { type FakeAnswer, type FakeHandler, type FakeServer, startFakeServer } from './server.ts';

/** Faults the sandbox injects on top of each provider's documented behaviour. */
export interface ChaosOptions {
  /** Added to every answer, ms. */
  latencyMs?: number;
  /** Share of calls answered with the provider's rate-limit answer (0..1). */
  rate429?: number;
  /** Share of calls answered 503 (0..1). */
  rate5xx?: number;
}

export function withChaos(handler: FakeHandler, chaos: ChaosOptions, rateLimited: () => FakeAnswer, random: () => number = Math.random): FakeHandler {
  return async (req) => {
    const roll = random();
    const answer =
      roll < (chaos.rate429 ?? 0)
        ? await rateLimited()
        : roll < (chaos.rate429 ?? 0) + (chaos.rate5xx ?? 0)
          ? { status: 503, headers: { 'retry-after': '1' }, body: { error: 'sandbox: service unavailable' } }
          : await handler(req);
    return chaos.latencyMs ? { ...answer, delayMs: (answer.delayMs ?? 0) + chaos.latencyMs } : answer;
  };
}

/** The sandbox's credentials, every provider's: not secrets, they only open these local fakes. */
export const SANDBOX_CREDENTIALS: Readonly<Record<string, string>> = Object.assign({}, ...Object.values(fakes).map((f) => f.env));

/**
 * The account names the docs' examples use, one per provider (docs/README.md): `sandbox --write-config` writes the
 * sandbox's accounts under them, so every example of the docs runs against it as written.
 */
export const EXAMPLE_ACCOUNTS: Readonly<Record<ProviderId, string>> = {
  betterstack: 'acme-uptime',
  stellas: 'acme-stellas',
  unibee: 'acme-unibee',
  closient: 'acme-closient',
  sutro: 'acme-sutro',
};

/** The teams of the bundled sample's `profile` column (examples/hires.csv): the providers each gets. */
export const SAMPLE_PROFILES: Readonly<Record<string, readonly ProviderId[]>> = {
  engineering: ['betterstack', 'closient', 'sutro'],
  finance: ['stellas', 'unibee'],
};

/** SAMPLE_PROFILES as a config's `profiles`: each provider's account by `nameOf`, with its example invite fields (a role, ...). */
export function sampleProfiles(nameOf: (id: ProviderId) => string): Record<string, Record<string, Record<string, unknown>>> {
  return Object.fromEntries(
    Object.entries(SAMPLE_PROFILES).map(([name, ids]) => [name, Object.fromEntries(ids.map((id) => [nameOf(id), { ...fakeOf(id).exampleInvite }]))]),
  );
}

/** The sandbox's accounts under the docs' example names. */
export function exampleAccounts(sandbox: Pick<Sandbox, 'accounts'>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(EXAMPLE_ACCOUNTS).flatMap(([id, name]) => {
      const account = sandbox.accounts[`sandbox-${id}`];
      return account === undefined ? [] : [[name, account]];
    }),
  );
}

export interface Sandbox {
  servers: Record<ProviderId, FakeServer>;
  /** Accounts for a config file, one per provider (`sandbox-<id>`), pointing at the sandbox. */
  accounts: Record<string, Record<string, unknown>>;
  close(): Promise<void>;
}

/** Requests each fake remembers: a sandbox left running for days must not grow without bound. */
export const SANDBOX_KEEP_REQUESTS = 10_000;

/**
 * A local fake of every registered provider answering as its documentation says, on consecutive ports from
 * `port` in registry order (or free ports), with optional latency, 429 and 5xx rates. Members listed are
 * already members everywhere.
 */
export async function startSandbox(
  options: { port?: number; host?: string; chaos?: ChaosOptions; members?: string[]; keepRequests?: number } = {},
): Promise<Sandbox> {
  const chaos = options.chaos ?? {};
  const members = options.members ?? [];
  const host = options.host ?? '127.0.0.1';
  const servers: Partial<Record<ProviderId, FakeServer>> = {};
  const accounts: Record<string, Record<string, unknown>> = {};
  try {
    for (const [i, id] of providerIds.entries()) {
      const sandbox = fakeOf(id);
      const { handler, rateLimited } = sandbox.fake({ members });
      const server = await startFakeServer(withChaos(handler, chaos, rateLimited), {
        port: options.port === undefined ? 0 : options.port + i,
        host,
        keepRequests: options.keepRequests ?? SANDBOX_KEEP_REQUESTS,
      });
      servers[id] = server;
      accounts[`sandbox-${id}`] = { provider: id, baseUrl: server.url, ...sandbox.account };
    }
  } catch (error) {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    throw error;
  }
  return {
    servers: servers as Record<ProviderId, FakeServer>,
    accounts,
    async close() {
      await Promise.all(Object.values(servers).map((s) => s.close()));
    },
  };
}
