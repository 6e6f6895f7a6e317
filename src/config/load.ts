import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvitebusError } from '../errors.ts';
import { wrongType } from '../input/describe-value.ts';
import { inputErrors } from '../input/zod-messages.ts';
import { INVITE_AT, type InviteAt } from '../onboarding/schedule.ts';
import { adapterOf, type ProviderId } from '../providers/index.ts';
import type { CredentialRef } from './credentials.ts';
import { duplicateKeys } from './duplicate-keys.ts';
import {
  accountIssues,
  configSchema,
  intakeIssues,
  inviteAtSchema,
  type ParsedConfig,
  profileIssues,
  redisIssues,
  scheduleIssues,
  webhookIssues,
} from './schema.ts';

type Defaults = ParsedConfig['defaults'];

/** One account, with every default applied. Holds credential references, never credential values. */
export interface AccountConfig {
  name: string;
  provider: ProviderId;
  baseUrl: string;
  credentials: Readonly<Record<string, CredentialRef>>;
  rateLimit: { max: number; durationMs: number } | undefined;
  concurrency: number;
  timeoutMs: number;
  retry: Defaults['retry'];
  rateLimited: Defaults['rateLimited'];
  /** The account as the provider's settings schema parsed it (provider-specific fields). */
  settings: unknown;
}

/** The validated, frozen configuration. */
export interface Config extends Omit<ParsedConfig, 'accounts'> {
  accounts: Readonly<Record<string, AccountConfig>>;
  /** Each profile's `inviteAt` (when its tools are invited, from the start date); `profiles` holds only accounts. */
  profileSchedules: Readonly<Record<string, InviteAt>>;
  /** Directory relative file paths (credential files) are resolved against. */
  baseDir: string;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** Validates a config object. Every problem is listed at once, each with its path. */
export function parseConfig(input: unknown, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(input, { error: inputErrors });
  const issues = [
    ...(result.success ? [] : result.error.issues),
    ...redisIssues(input),
    ...accountIssues(input),
    ...profileIssues(input),
    ...intakeIssues(input),
    ...scheduleIssues(input),
    ...webhookIssues(input),
  ];
  if (!result.success || issues.length > 0) {
    const details = [...new Set(issues.map((i) => `${formatPath(i.path)}: ${i.message}`))];
    throw new InvitebusError(
      'CONFIG_INVALID',
      `invalid configuration (${details.length} problem${details.length === 1 ? '' : 's'}):\n  ${details.join('\n  ')}`,
      {
        details,
      },
    );
  }
  const parsed = result.data;
  const accounts: Record<string, AccountConfig> = {};
  for (const [name, account] of Object.entries(parsed.accounts)) {
    const adapter = adapterOf(account.provider);
    accounts[name] = {
      name,
      provider: account.provider,
      credentials: account.credentials,
      rateLimit: account.rateLimit,
      concurrency: account.concurrency,
      timeoutMs: account.timeoutMs,
      baseUrl: (account.baseUrl ?? adapter.defaultBaseUrl) as string,
      retry: account.retry ?? parsed.defaults.retry,
      rateLimited: account.rateLimited ?? parsed.defaults.rateLimited,
      settings: adapter.settingsSchema.parse(account),
    };
  }
  // A profile's inviteAt is kept apart: everything reading `profiles` sees accounts only.
  const profiles: ParsedConfig['profiles'] = {};
  const profileSchedules: Record<string, InviteAt> = {};
  for (const [name, { [INVITE_AT]: inviteAt, ...rest }] of Object.entries(parsed.profiles)) {
    profiles[name] = rest;
    if (inviteAt !== undefined) profileSchedules[name] = inviteAtSchema.parse(inviteAt);
  }
  return deepFreeze({ ...parsed, profiles, profileSchedules, accounts, baseDir });
}

/**
 * Where the config file is: `--config`, else INVITEBUS_CONFIG, else ./invitebus.config.json.
 */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? env.INVITEBUS_CONFIG ?? 'invitebus.config.json');
}

/** Settings given outside the file, which win over it: a command-line flag, else the environment. */
export interface ConfigOverrides {
  /** Replaces `redis.url`. */
  redisUrl?: string | undefined;
}

/**
 * The overrides in force: `--redis-url`, else REDIS_URL, else the file's `redis.url` (else its default).
 * The one place that reads the environment for settings besides the config path and credentials.
 */
export function configOverrides(flags: { redisUrl?: string | undefined }, env: NodeJS.ProcessEnv): ConfigOverrides {
  const redisUrl = flags.redisUrl ?? (env.REDIS_URL || undefined);
  return redisUrl === undefined ? {} : { redisUrl };
}

/** Applies overrides to the raw config before it is validated (so a bad override is reported like a bad key). */
function applyOverrides(json: unknown, overrides: ConfigOverrides): unknown {
  if (overrides.redisUrl === undefined || json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  const raw = json as { redis?: unknown };
  const redis = raw.redis !== null && typeof raw.redis === 'object' ? raw.redis : {};
  return { ...raw, redis: { ...redis, url: overrides.redisUrl } };
}

/** Reads, parses and validates the config file, with the overrides applied. */
export function loadConfig(path: string, overrides: ConfigOverrides = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvitebusError('CONFIG_NOT_FOUND', `cannot read config file ${path}: pass --config PATH or set INVITEBUS_CONFIG`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvitebusError('CONFIG_INVALID', `config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const twice = duplicateKeys(text);
  if (twice.length > 0) {
    const details = twice.map((d) => `${d.path}: given twice in one object (line ${d.line}): JSON keeps only the last; merge the two`);
    throw new InvitebusError(
      'CONFIG_INVALID',
      `invalid configuration (${details.length} problem${details.length === 1 ? '' : 's'}):\n  ${details.join('\n  ')}`,
      {
        details,
      },
    );
  }
  return parseConfig(applyOverrides(json, overrides), dirname(path));
}

/**
 * How long invitebus remembers an invite (terminal markers, batch keys, replay claims): the longer of the two
 * job retentions, which is also the idempotency window.
 */
export function retentionMs(config: Config): number {
  return Math.max(config.retention.completedAgeSec, config.retention.failedAgeSec) * 1000;
}

/** The account's config, or an error naming the known accounts. */
export function accountOf(config: Config, name: string): AccountConfig {
  // A library caller in plain JavaScript may pass anything: an object here would run its own toString.
  if (typeof name !== 'string') throw new InvitebusError('UNKNOWN_ACCOUNT', `unknown account: ${wrongType('an account name', name)}`);
  // Own keys only: 'constructor' or '__proto__' are not accounts because every object inherits them.
  const account = Object.hasOwn(config.accounts, name) ? config.accounts[name] : undefined;
  if (account === undefined) {
    const known = Object.keys(config.accounts).join(', ') || '(none)';
    throw new InvitebusError('UNKNOWN_ACCOUNT', `unknown account '${name}'; configured accounts: ${known}`);
  }
  return account;
}
