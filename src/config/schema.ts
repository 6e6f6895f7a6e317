import { isIP } from 'node:net';
import { z } from 'zod';
import { BULLMQ_EVENTS_MAX_LEN } from '../bullmq-options.ts';
import { WEBHOOK_EVENT_TYPES } from '../events/catalogue.ts';
import { identifierProblem } from '../identifiers.ts';
import { columnKey, targetProblem } from '../input/columns.ts';
import { describeValue } from '../input/describe-value.ts';
import { canonicalZone, INVITE_AT, parseClock, ZONE_HINT } from '../onboarding/schedule.ts';
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

/**
 * The first retries of a webhook delivery: 2 s, 4 s, 8 s, 15 s, 30 s, 30 s (the sixth about 1.5 minutes after
 * the first attempt). Most receiver outages are blips (a deploy, a restart): retried this densely, a 20 s outage
 * delays a result by 15 s at most instead of the 5 minutes of the long schedule's second retry.
 */
export const WEBHOOK_SHORT_RETRIES_MS = [2_000, 4_000, 8_000, 15_000, 30_000, 30_000];
/** Then Svix's long schedule, less its 5 s retry (the short phase covers it): 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const WEBHOOK_LONG_RETRIES_MS = [300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** The default wait before each retry: 12 retries, 13 attempts over about 27.6 hours, as long as Svix's 8. */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [...WEBHOOK_SHORT_RETRIES_MS, ...WEBHOOK_LONG_RETRIES_MS];

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
  retryScheduleMs: z
    .array(positiveInt)
    .min(1)
    .max(50)
    .default([...WEBHOOK_RETRY_SCHEDULE_MS]),
  /** An endpoint whose deliveries fail this long without one success is disabled (webhook.disabled). */
  disableAfterMs: positiveInt.default(5 * DAY_S * 1000),
  /** Deliveries in flight to this endpoint per worker process. */
  concurrency: positiveInt.max(1000).default(10),
});

/** When a profile's tools are invited, relative to each person's start date (src/onboarding/schedule.ts). */
export const inviteAtSchema = z.strictObject({
  /** Calendar days before the start date (0: on the day). */
  daysBefore: z.number().int().min(0).max(366).default(0),
  /** Wall-clock time in the person's zone, "HH:MM"; without it, the start's own time (00:00 for a bare date). */
  at: z
    .string()
    .refine((t) => parseClock(t) !== undefined, 'must be a 24-hour time "HH:MM", e.g. "09:00"')
    .optional(),
});

/** An IANA time zone name, spelt as Intl spells it ("europe/berlin" becomes "Europe/Berlin"). */
const timeZoneSchema = z
  .string()
  .refine((name) => canonicalZone(name) !== undefined, { error: (i) => `${describeValue(i.input)} is not a time zone: give ${ZONE_HINT}` })
  .transform((name) => canonicalZone(name) ?? name);

/**
 * Each entry of an HR mapping checked: a key the same as an earlier one but for letter case (and spaces
 * around: "Work Email" and "work email ") is refused, and `check` names what is wrong with a value.
 */
function mappingIssues(
  record: Record<string, string>,
  what: string,
  ctx: z.RefinementCtx,
  check: (value: string) => string | undefined = () => undefined,
): void {
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(record)) {
    const first = seen.get(columnKey(key));
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `the same ${what} as '${first}' (${what}s match in any letter case)` });
    else seen.set(columnKey(key), key);
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: problem });
  }
}

/**
 * HR exports as they are: which column is which field, and which HR value is which profile. Matched trimmed and
 * in any letter case. Its own object so that further intake settings sit beside these keys.
 */
export const intakeSchema = z.strictObject({
  /** The time zone of people whose row names none (default UTC): their start dates and `inviteAt` times are its wall clock. */
  timeZone: timeZoneSchema.optional(),
  /** How a slashed date both ways could read (03/04/2026) is read: "DMY" (3 April) or "MDY" (4 March); unset: refused. */
  dateOrder: z.enum(['DMY', 'MDY']).optional(),
  /** HR header → field: `{ "Work Email": "email", "Employee ID": "externalId", "Department": "profile" }`. */
  columns: z
    .record(z.string().trim().min(1, 'a column name is not empty'), z.string())
    .superRefine((columns, ctx) => mappingIssues(columns, 'column', ctx, targetProblem))
    .default({}),
  values: z
    .strictObject({
      /** HR value → profile name: `{ "R&D": "engineering" }` (each profile must be configured). */
      profile: z
        .record(z.string().trim().min(1, 'a value is not empty'), z.string().min(1))
        .superRefine((values, ctx) => mappingIssues(values, 'value', ctx))
        .default({}),
    })
    .prefault({}),
});

/** A Redis node: "host:port" or { host, port }. */
const redisNode = z
  .union([z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be "host:port"'), z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) })])
  .transform((n) => (typeof n === 'string' ? { host: n.slice(0, n.lastIndexOf(':')), port: Number(n.slice(n.lastIndexOf(':') + 1)) } : n));

/**
 * Where Redis is and how to reach it: one URL (a standalone or a managed primary endpoint), a Sentinel group, or a
 * Cluster; TLS and ACL credentials for each. Secrets are references (`{ env }` / `{ file }`), never values.
 */
const redisSchema = z.strictObject({
  /** redis:// or rediss:// (TLS), with an ACL user and password if wanted. Not used with `sentinels` or `cluster`. */
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** ACL user (Redis 6+), for every node. */
  username: z.string().min(1).optional(),
  password: credentialRef.optional(),
  /** TLS for every connection (rediss:// in `url` turns it on too). PEM by reference. */
  tls: z
    .strictObject({
      ca: credentialRef.optional(),
      cert: credentialRef.optional(),
      key: credentialRef.optional(),
      /** The name the server's certificate is checked against (SNI), when it is not the host connected to. */
      servername: z.string().min(1).optional(),
    })
    .optional(),
  /** A Sentinel group: the sentinels' addresses and the name of the primary they watch (`name`). */
  sentinels: z.array(redisNode).min(1).optional(),
  name: z.string().min(1).optional(),
  sentinelUsername: z.string().min(1).optional(),
  sentinelPassword: credentialRef.optional(),
  /** A Redis Cluster: some of its nodes (the rest are discovered), and addresses to rewrite (NAT, containers). */
  cluster: z.strictObject({ nodes: z.array(redisNode).min(1), natMap: z.record(z.string(), redisNode).optional() }).optional(),
  /** Key prefix of every key invitebus writes. In a Redis Cluster, wrap it in braces: "{invitebus}". */
  prefix: z
    .string()
    .min(1)
    .regex(/^[^:\s]+$/, 'must not contain ":" or spaces')
    .default('invitebus'),
  /**
   * Acknowledged means replicated: an enqueue, a POST or a replay reports success only once this many replicas
   * have its writes (`WAIT replicas timeoutMs`), else it fails saying so.
   */
  waitReplicas: z
    .strictObject({
      replicas: positiveInt,
      timeoutMs: positiveInt.max(5_000, 'at most 5000: a longer wait would be taken for a dead connection').default(1_000),
    })
    .optional(),
});

/** Problems between `redis` fields (a zod object checks each field alone). */
export function redisIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const redis = (input as { redis?: unknown } | null)?.redis;
  if (redis === null || typeof redis !== 'object') return [];
  const r = redis as Record<string, unknown>;
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const at = (field: string, message: string) => issues.push({ path: ['redis', field], message });
  if (r.sentinels !== undefined && r.cluster !== undefined) at('cluster', 'give either sentinels or cluster, not both');
  if (r.sentinels !== undefined && r.name === undefined)
    at('name', 'required with sentinels: the name of the primary the sentinels watch (their "sentinel monitor NAME")');
  if (r.name !== undefined && r.sentinels === undefined) at('name', 'only used with sentinels');
  for (const topology of ['sentinels', 'cluster'] as const) {
    if (r[topology] !== undefined && r.url !== undefined) {
      at(
        'url',
        `not used with ${topology}: give the ${topology === 'cluster' ? "cluster's nodes" : 'sentinels'} instead (and username, password, tls as fields); unset REDIS_URL / --redis-url`,
      );
    }
  }
  if (r.cluster !== undefined) {
    const prefix = typeof r.prefix === 'string' ? r.prefix : 'invitebus';
    if (!/^[^{}]*\{[^{}]+\}/.test(prefix)) {
      at('prefix', `in a Redis Cluster the prefix must be wrapped in braces, e.g. "{${prefix}}", so that every key invitebus and BullMQ write shares one slot`);
    }
  }
  if (typeof r.url === 'string' && r.password !== undefined) {
    try {
      if (new URL(r.url).password !== '') at('password', 'the url carries a password already: give it in one place');
    } catch {
      // the url's own problem is reported by the schema
    }
  }
  return issues;
}

export const configSchema = z.strictObject({
  redis: redisSchema.prefault({}),
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
  events: z
    .strictObject({
      maxLen: positiveInt.default(1_000_000),
      /**
       * Approximate MAXLEN of each BullMQ queue's own event stream (`<prefix>:<queue>:events`), BullMQ's 10,000 by
       * default: at that, every account queue holds ~1.4 MB forever. Invitebus reads these streams only live.
       */
      queueMaxLen: positiveInt.default(BULLMQ_EVENTS_MAX_LEN),
    })
    .prefault({}),
  worker: z
    .strictObject({
      /** SIGTERM/SIGINT: how long in-flight calls may take to finish before connections are closed anyway. */
      shutdownTimeoutMs: positiveInt.default(30_000),
      /** A crashed worker's jobs are retried after at most about lockDurationMs + stalledIntervalMs. */
      lockDurationMs: positiveInt.default(30_000),
      stalledIntervalMs: positiveInt.default(30_000),
      maxStalledCount: z.number().int().min(0).default(2),
      /**
       * Accounts' BullMQ workers alive at once in one process (each ~24 KB of heap plus its calls in flight); more
       * accounts with work wait their turn in arrival order (docs/operations.md). Default: 1 per MB of V8's heap
       * limit (152 at the shipped 128 MB cap).
       */
      maxAccountWorkers: positiveInt.optional(),
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
   * (role mapping lives here). A person's own fields override them for every account that takes them. The key
   * `inviteAt` (no account can be named so) says when the profile's tools are invited (`inviteAtSchema`).
   */
  profiles: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))).default({}),
  /** Reading HR exports: column mapping, HR values, the default time zone and date order (see intakeSchema). */
  intake: intakeSchema.prefault({}),
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
  const byKey = new Map<string, string>();
  for (const [name, profile] of Object.entries(profiles)) {
    const problem = identifierProblem('profile name', name);
    if (problem !== undefined) issues.push({ path: ['profiles', name], message: problem });
    // A row's "Engineering" means the profile engineering: two that differ only in case would be ambiguous.
    const same = byKey.get(name.toLowerCase());
    if (same !== undefined)
      issues.push({ path: ['profiles', name], message: `differs from profile '${same}' only in letter case (profile names match in any case)` });
    else byKey.set(name.toLowerCase(), name);
    if (profile === null || typeof profile !== 'object') continue;
    if (Object.keys(profile).filter((k) => k !== INVITE_AT).length === 0)
      issues.push({ path: ['profiles', name], message: 'a profile names at least one account' });
    for (const [account, fields] of Object.entries(profile)) {
      if (account === INVITE_AT) continue; // checked by scheduleIssues
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

/** `intake.values.profile` naming configured profiles (in any letter case): a wrong name is a config error, not a refusal per row. */
export function intakeIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const raw = input as { intake?: { values?: { profile?: unknown } }; profiles?: unknown } | null;
  const values = raw?.intake?.values?.profile;
  if (values === null || typeof values !== 'object') return [];
  const profiles = raw?.profiles !== null && typeof raw?.profiles === 'object' ? Object.keys(raw.profiles) : [];
  const known = new Set(profiles.map((p) => p.toLowerCase()));
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const [value, profile] of Object.entries(values)) {
    if (typeof profile === 'string' && profile !== '' && !known.has(profile.trim().toLowerCase())) {
      issues.push({
        path: ['intake', 'values', 'profile', value],
        message: `unknown profile '${profile}'; configured profiles: ${profiles.join(', ') || '(none: add "profiles")'}`,
      });
    }
  }
  return issues;
}

/**
 * Start-date checks: each profile's `inviteAt` by its schema, and no account named `inviteAt` (in a profile that
 * key says when, so such an account could never be given by a profile).
 */
export function scheduleIssues(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const raw = input as { accounts?: unknown; profiles?: unknown } | null;
  if (raw?.accounts !== null && typeof raw?.accounts === 'object' && Object.hasOwn(raw.accounts, INVITE_AT)) {
    issues.push({
      path: ['accounts', INVITE_AT],
      message: `the name '${INVITE_AT}' is reserved (in a profile it says when the profile's tools are invited): rename the account`,
    });
  }
  if (raw?.profiles === null || typeof raw?.profiles !== 'object') return issues;
  for (const [name, profile] of Object.entries(raw.profiles)) {
    if (profile === null || typeof profile !== 'object' || !Object.hasOwn(profile, INVITE_AT)) continue;
    const inviteAt = (profile as Record<string, unknown>)[INVITE_AT];
    if (inviteAt === null || typeof inviteAt !== 'object') continue; // the shape check says it is no object
    const result = inviteAtSchema.safeParse(inviteAt);
    if (!result.success) for (const issue of result.error.issues) issues.push({ path: ['profiles', name, INVITE_AT, ...issue.path], message: issue.message });
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
