import { betterstackHandler } from './betterstack.ts';
import { closientFake } from './closient.ts';
import { type FakeHandler, type FakeServer, startFakeServer } from './server.ts';
import { stellasFake } from './stellas.ts';
import { sutroFake } from './sutro.ts';
import { unibeeFake } from './unibee.ts';

/** Faults the sandbox injects on top of each provider's documented behaviour. */
export interface ChaosOptions {
  /** Added to every answer, ms. */
  latencyMs?: number;
  /** Share of calls answered with the provider's rate-limit answer (0..1). */
  rate429?: number;
  /** Share of calls answered 503 (0..1). */
  rate5xx?: number;
}

export function withChaos(
  handler: FakeHandler,
  chaos: ChaosOptions,
  rateLimited: () => ReturnType<FakeHandler>,
  random: () => number = Math.random,
): FakeHandler {
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

/** The sandbox's credentials: not secrets, they only open these local fakes. */
export const SANDBOX_CREDENTIALS = {
  SANDBOX_BETTERSTACK_TOKEN: 'bs-team-token',
  SANDBOX_STELLAS_SECRET_KEY: 'sandbox-secret-key',
  SANDBOX_STELLAS_EMAIL: 'ops@acme.example',
  SANDBOX_STELLAS_PASSWORD: 'sandbox-password',
  SANDBOX_UNIBEE_API_KEY: 'sandbox-unibee-key',
  SANDBOX_CLOSIENT_API_KEY: 'sandbox-closient-key',
  SANDBOX_SUTRO_TOKEN: 'sandbox-sutro-jwt',
} as const;

export const SANDBOX_CLOSIENT_ORG = 'NBQ8ukvDUEUcFfYpRwbm4W';

export interface Sandbox {
  servers: Record<'betterstack' | 'stellas' | 'unibee' | 'closient' | 'sutro', FakeServer>;
  /** Accounts for a config file, one per provider, pointing at the sandbox. */
  accounts: Record<string, Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Five local fake providers answering as their documentation says, on consecutive ports from `port`
 * (or free ports), with optional latency, 429 and 5xx rates. Members listed are already members there.
 */
/** Requests each fake remembers: a sandbox left running for days must not grow without bound. */
export const SANDBOX_KEEP_REQUESTS = 10_000;

export async function startSandbox(
  options: { port?: number; host?: string; chaos?: ChaosOptions; members?: string[]; keepRequests?: number } = {},
): Promise<Sandbox> {
  const chaos = options.chaos ?? {};
  const members = options.members ?? [];
  const port = (i: number) => (options.port === undefined ? 0 : options.port + i);
  const host = options.host ?? '127.0.0.1';
  const start = (i: number, handler: FakeHandler, limited: () => ReturnType<FakeHandler>) =>
    startFakeServer(withChaos(handler, chaos, limited), { port: port(i), host, keepRequests: options.keepRequests ?? SANDBOX_KEEP_REQUESTS });
  const stellas = stellasFake({ members: [] });
  const servers = {
    betterstack: await start(0, betterstackHandler({ members }), () => ({
      status: 429,
      body: { errors: 'Too many invitations sent. Please try again later.' },
    })),
    stellas: await start(1, stellas.handler, () => ({ status: 429, body: { status: false, message: 'Too many requests', data: null } })),
    unibee: await start(2, unibeeFake({ members, qps: 50 }).handler, () => ({
      status: 400,
      body: { code: 51, message: 'Reached max api qps limitation, please try again later', data: null, redirect: '', requestId: 'sandbox-qps' },
    })),
    closient: await start(3, closientFake({ members, perWindow: 300, windowSeconds: 60 }).handler, () => ({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'RATE_LIMITED', message: 'Rate limit exceeded', status: 429, retry_after_seconds: 1 } },
    })),
    sutro: await start(4, sutroFake({ members }).handler, () => ({ status: 429 })),
  };
  const env = (name: keyof typeof SANDBOX_CREDENTIALS) => ({ env: name });
  return {
    servers,
    accounts: {
      'sandbox-betterstack': { provider: 'betterstack', baseUrl: servers.betterstack.url, credentials: { token: env('SANDBOX_BETTERSTACK_TOKEN') } },
      'sandbox-stellas': {
        provider: 'stellas',
        baseUrl: servers.stellas.url,
        businessId: 'biz_123',
        credentials: { secretKey: env('SANDBOX_STELLAS_SECRET_KEY'), email: env('SANDBOX_STELLAS_EMAIL'), password: env('SANDBOX_STELLAS_PASSWORD') },
      },
      'sandbox-unibee': { provider: 'unibee', baseUrl: servers.unibee.url, credentials: { apiKey: env('SANDBOX_UNIBEE_API_KEY') } },
      'sandbox-closient': {
        provider: 'closient',
        baseUrl: servers.closient.url,
        orgId: SANDBOX_CLOSIENT_ORG,
        credentials: { apiKey: env('SANDBOX_CLOSIENT_API_KEY') },
      },
      'sandbox-sutro': { provider: 'sutro', baseUrl: servers.sutro.url, credentials: { token: env('SANDBOX_SUTRO_TOKEN') } },
    },
    async close() {
      await Promise.all(Object.values(servers).map((s) => s.close()));
    },
  };
}
