import { isIP } from 'node:net';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../events/catalogue.ts';
import { identifierProblem } from '../identifiers.ts';
import { describeValue } from '../input/describe-value.ts';
import { adapterOf, fieldProblems, providerIds } from '../providers/index.ts';
import { credentialRef } from './credentials.ts';

const positiveInt = z.number().int().positive();
const DAY_S = 86_400;

/** Retry policy for transient failures (5xx, timeouts, connection errors). */
const retrySchema = z.strictObject({
  /** Total tries including the first. */
  attempts: positiveInt.max(100).default(8),
  /** Ceiling of the first retry's wait; doubles per retry (full jitter). */
  baseDelayMs: positiveInt.default(60_000),
  /** No single retry wait exceeds this. */
  maxDelayMs: positiveInt.default(30 * 60_000),
  /**
   * A transient failure on an account whose recent calls mostly succeed is a glitch, retried within seconds
   * (src/policies/retry-health.ts); false: always the schedule above.
   */
  healthAware: z.boolean().default(true),
});

/** How an account reacts to rate limiting. */
const rateLimitedSchema = z.strictObject({
  /** Longest wait honoured from a provider's Retry-After / reset headers; longer asks are capped (and logged). */
  maxWaitMs: positiveInt.default(DAY_S * 1000),
  /** Backoff when a 429 names no wait: first wait ~this, doubling per consecutive 429. */
  baseDelayMs: positiveInt.default(1_000),
  maxDelayMs: positiveInt.default(5 * 60_000),
  /** An invite started this many times (rate-limited starts included) fails as rate_limited_exhausted. */
  maxStarts: positiveInt.default(100),
});

/** The part of an account every provider shares. Provider fields are checked by the provider's schema. */
const accountBase = z.looseObject({
  provider: z.enum(providerIds, { error: (i) => `unknown provider ${describeValue(i.input)}; known: ${providerIds.join(', ')}` }),
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  credentials: z.record(z.string(), credentialRef).default({}),
  /** BullMQ's limiter: at most `max` calls per `durationMs`, across every worker process of the account. */
  rateLimit: z.strictObject({ max: positiveInt, durationMs: positiveInt }).optional(),
  concurrency: positiveInt.max(1000).default(4),
  timeoutMs: positiveInt.default(10_000),
  retry: retrySchema.optional(),
  rateLimited: rateLimitedSchema.optional(),
});

/** An address, a CIDR range (address/bits) or one of proxy-addr's names for ranges. */
function proxyAddressProblem(entry: string): string | undefined {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return undefined;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return `'${entry}' is not an IP address or CIDR range`;
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))) return `'${entry}' has a bad prefix length`;
  return undefined;
}

/**
 * Which proxies are trusted: false (none, the default) or their addresses and ranges. No `true` (it would let
 * any client claim any address and protocol) and no hop count (it trusts whatever sits that many hops away).
 */
const trustProxySchema = z.union(
  [
    z.literal(false),
    z
      .array(z.string())
      .min(1)
      .superRefine((entries, ctx) => {
        for (const [i, entry] of entries.entries()) {
          const problem = proxyAddressProblem(entry);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: problem });
        }
      }),
  ],
  { error: 'must be false or a list of proxy addresses / CIDR ranges' },
);

/** Event types a webhook endpoint can subscribe to (src/events/catalogue.ts). */
export { WEBHOOK_EVENT_TYPES };

/** Svix's retry schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours). */
export const SVIX_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** One HR system's receiver of results. Its secret signs every delivery (Standard Webhooks); never stored. */
const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** The signing secret, base64 with an optional "whsec_" prefix: { "env": "NAME" } or { "file": "/path" }. */
  secret: credentialRef,
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, 'subscribe to at least one event type'),
  /** Only events of these accounts (events of no account, such as batch.completed, are always delivered). */
  accounts: z.array(z.string()).optional(),
  timeoutMs: positiveInt.default(10_000),
  /** Waits before each retry, ms; a receiver's Retry-After wins. Its length + 1 is the number of attempts. */
  retryScheduleMs: z.array(positiveInt).min(1).max(50).default(SVIX_SCHEDULE_MS),
  /** An endpoint whose deliveries fail this long without one success is disabled (webhook.disabled). */
  disableAfterMs: positiveInt.default(5 * DAY_S * 1000),
  /** Deliveries in flight to this endpoint per worker process. */
  concurrency: positiveInt.max(1000).default(10),
});

export const configSchema = z.strictObject({
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379'),
      /** Key prefix of every key invitebus writes. In a Redis Cluster, wrap it in braces: "{invitebus}". */
      prefix: z
        .string()
        .min(1)
        .regex(/^[^:\s]+$/, 'must not contain ":" or spaces')
        .default('invitebus'),
    })
    .prefault({}),
  defaults: z
    .strictObject({
      retry: retrySchema.prefault({}),
      rateLimited: rateLimitedSchema.prefault({}),
    })
    .prefault({}),
  retention: z
    .strictObject({
      /** Finished jobs are kept this long; the idempotency window is the same. */
      completedAgeSec: positiveInt.default(7 * DAY_S),
      failedAgeSec: positiveInt.default(30 * DAY_S),
    })
    .prefault({}),
  events: z.strictObject({ maxLen: positiveInt.default(1_000_000) }).prefault({}),
  worker: z
    .strictObject({
      /** SIGTERM/SIGINT: how long in-flight calls may take to finish before connections are closed anyway. */
      shutdownTimeoutMs: positiveInt.default(30_000),
      /** A crashed worker's jobs are retried after at most about lockDurationMs + stalledIntervalMs. */
      lockDurationMs: positiveInt.default(30_000),
      stalledIntervalMs: positiveInt.default(30_000),
      maxStalledCount: z.number().int().min(0).default(2),
    })
    .prefault({}),
  api: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** The bearer token every API route but /healthz and /readyz requires; operators log in to the console with it. */
      token: credentialRef.default({ env: 'INVITEBUS_API_TOKEN' }),
      /** Tokens that can look but not change anything (no pause, replay, enqueue): for dashboards and on-call. */
      readOnlyTokens: z.array(credentialRef).default([]),
      /** How long a console login lasts. */
      sessionHours: z
        .number()
        .positive()
        .max(24 * 30)
        .default(12),
      /** Failed and successful logins allowed per client address per minute. */
      loginsPerMinute: positiveInt.default(10),
      /** Wrong bearer tokens allowed per client address per minute; then 429 (a right token is never held). */
      failedTokensPerMinute: positiveInt.default(10),
      /**
       * The proxies whose X-Forwarded-For / -Proto / -Host are believed (fastify's trustProxy): addresses or CIDR
       * ranges (or loopback, linklocal, uniquelocal). Behind a TLS-terminating proxy
       * it makes the session cookie Secure and the per-address limits count clients, not the proxy.
       */
      trustProxy: trustProxySchema.default(false),
      bodyLimitBytes: positiveInt.default(8 * 1024 * 1024),
      /**
       * bull-board at /dashboard. Read-only by default: its write API (add, edit, retry, clean, empty, pause)
       * bypasses invitebus's validation and accounting; set false to allow it.
       */
      dashboard: z.strictObject({ readOnly: z.boolean().default(true) }).prefault({}),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  accounts: z.record(z.string(), accountBase),
  /**
   * Onboarding profiles: a name → for each account (tool) its people get, the invite fields that account needs
   * (role mapping lives here). A person's own fields override them for every account that takes them.
   */
  profiles: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))).default({}),
  /** Where results are pushed: name → endpoint. */
  webhooks: z.record(z.string(), webhookSchema).default({}),
});

/**
 * Checks zod cannot express in the shape above: account names and provider-specific fields (each by its
 * provider's own schema). Run on the raw input so they are reported together with every shape problem.
 */
export function accountIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const accounts = (input as { accounts?: unknown } | null)?.accounts;
  if (accounts === null || typeof accounts !== 'object') return issues;
  for (const [name, account] of Object.entries(accounts)) {
    const problem = identifierProblem('account name', name);
    if (problem !== undefined) issues.push({ path: ['accounts', name], message: problem });
    const provider = (account as { provider?: unknown } | null)?.provider;
    if (typeof provider !== 'string' || !(providerIds as string[]).includes(provider)) continue;
    const adapter = adapterOf(provider);
    const result = adapter.settingsSchema.safeParse(account);
    if (!result.success) {
      for (const issue of result.error.issues) issues.push({ path: ['accounts', name, ...issue.path], message: issue.message });
    }
    if ((account as { baseUrl?: unknown }).baseUrl === undefined && adapter.defaultBaseUrl === undefined) {
      issues.push({ path: ['accounts', name, 'baseUrl'], message: `${provider} publishes no base URL: set one` });
    }
  }
  return issues;
}

/**
 * Profile checks: names by the identifier rule, every account configured, every field one its provider takes
 * with a value its schema accepts (an unknown role is a config error, not a failure per person at delivery).
 */
export function profileIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const raw = input as { accounts?: unknown; profiles?: unknown } | null;
  const profiles = raw?.profiles;
  if (profiles === null || typeof profiles !== 'object') return issues;
  const accounts = (raw?.accounts !== null && typeof raw?.accounts === 'object' ? raw.accounts : {}) as Record<string, { provider?: unknown }>;
  for (const [name, profile] of Object.entries(profiles)) {
    const problem = identifierProblem('profile name', name);
    if (problem !== undefined) issues.push({ path: ['profiles', name], message: problem });
    if (profile === null || typeof profile !== 'object') continue;
    if (Object.keys(profile).length === 0) issues.push({ path: ['profiles', name], message: 'a profile names at least one account' });
    for (const [account, fields] of Object.entries(profile)) {
      const provider = Object.hasOwn(accounts, account) ? accounts[account]?.provider : undefined;
      if (provider === undefined) {
        issues.push({
          path: ['profiles', name, account],
          message: `unknown account '${account}'; configured accounts: ${Object.keys(accounts).join(', ') || '(none)'}`,
        });
        continue;
      }
      if (typeof provider !== 'string' || !(providerIds as string[]).includes(provider) || fields === null || typeof fields !== 'object') continue;
      for (const p of fieldProblems(adapterOf(provider), fields as Record<string, unknown>)) {
        issues.push({ path: ['profiles', name, account, p.field], message: p.message });
      }
    }
  }
  return issues;
}

/** Webhook names by the identifier rule, and their account filters naming configured accounts. */
export function webhookIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const raw = input as { accounts?: unknown; webhooks?: unknown } | null;
  if (raw?.webhooks === null || typeof raw?.webhooks !== 'object') return issues;
  const accounts = raw.accounts !== null && typeof raw.accounts === 'object' ? raw.accounts : {};
  for (const [name, hook] of Object.entries(raw.webhooks)) {
    const problem = identifierProblem('webhook name', name);
    if (problem !== undefined) issues.push({ path: ['webhooks', name], message: problem });
    const filter = (hook as { accounts?: unknown } | null)?.accounts;
    if (!Array.isArray(filter)) continue;
    for (const account of filter) {
      if (typeof account === 'string' && !Object.hasOwn(accounts, account))
        issues.push({ path: ['webhooks', name, 'accounts'], message: `unknown account '${account}'` });
    }
  }
  return issues;
}

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
