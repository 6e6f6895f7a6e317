/**
 * What a config reload changes (SIGHUP, `POST /v1/config/reload`): which accounts are added, removed, changed or
 * untouched, and which other changes cannot apply to a running process. Pure: two configs in, a plan out.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './load.ts';

/** The sections a running process takes over from a reloaded file; any other section that differs needs a restart. */
const LIVE_SECTIONS: ReadonlySet<string> = new Set([
  // `defaults` is applied into each account by parseConfig: an account it changes is a changed account.
  'accounts',
  'defaults',
  'profiles',
  'profileSchedules',
  'intake',
]);

/** Why a section needs a restart, said to the operator beside the keys that changed (never their values). */
const RESTART_REASON: Readonly<Record<string, string>> = {
  redis: 'Redis connection settings and the key prefix',
  worker: 'worker settings (locks, stalled checks, shutdown deadline)',
  api: 'API settings (address, tokens, limits)',
  webhooks: 'webhook endpoints',
  retention: 'retention',
  events: 'the event stream settings',
  // Each account's logger is a child made at its start: a new level would reach some lines and not others.
  log: 'the log level',
};

/** A reload's plan: account names (sorted) by what happens to them, and the changes a reload cannot apply. */
export interface ConfigDiff {
  added: string[];
  removed: string[];
  /** Settings, limits or credentials differ: the account's worker is drained and started again. */
  changed: string[];
  unchanged: string[];
  /** One sentence per section that differs and applies only at a restart; non-empty means the reload is refused. */
  needsRestart: string[];
}

/** The keys of two objects whose values differ, as `section.key` (values are never part of the message: a URL may hold a password). */
function changedKeys(section: string, a: unknown, b: unknown): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return [section];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => !isDeepStrictEqual(a[k], b[k])).map((k) => `${section}.${k}`);
}

/**
 * Compares the running config with a newly read one. `accounts`: the accounts this process serves (a worker
 * started with `--account`); others are ignored. `credentials`: each served account's resolved credentials in the
 * running and the new config (compared here, never logged): a rotated credential file makes its account changed
 * though its reference is the same.
 */
export function diffConfig(
  current: Config,
  next: Config,
  options: {
    accounts?: readonly string[] | undefined;
    credentials?: { current: ReadonlyMap<string, Readonly<Record<string, string>>>; next: ReadonlyMap<string, Readonly<Record<string, string>>> };
  } = {},
): ConfigDiff {
  const served = (config: Config) =>
    new Set(Object.keys(config.accounts).filter((name) => options.accounts === undefined || options.accounts.length === 0 || options.accounts.includes(name)));
  const before = served(current);
  const after = served(next);
  const diff: ConfigDiff = { added: [], removed: [], changed: [], unchanged: [], needsRestart: [] };
  for (const name of [...new Set([...before, ...after])].sort()) {
    if (!before.has(name)) diff.added.push(name);
    else if (!after.has(name)) diff.removed.push(name);
    else {
      const same =
        isDeepStrictEqual(current.accounts[name], next.accounts[name]) &&
        isDeepStrictEqual(options.credentials?.current.get(name), options.credentials?.next.get(name));
      (same ? diff.unchanged : diff.changed).push(name);
    }
  }
  const sections = [...new Set([...Object.keys(current), ...Object.keys(next)])].filter((s) => !LIVE_SECTIONS.has(s) && s !== 'baseDir').sort();
  for (const section of sections) {
    const a = (current as unknown as Record<string, unknown>)[section];
    const b = (next as unknown as Record<string, unknown>)[section];
    if (isDeepStrictEqual(a, b)) continue;
    const what = RESTART_REASON[section] ?? `the '${section}' section`;
    diff.needsRestart.push(`${changedKeys(section, a, b).join(', ')} changed, which needs a restart (${what}): restart the process to use the new values`);
  }
  return diff;
}

/** The diff in one line for the log and the API's message: account names only, never settings or secrets. */
export function describeDiff(diff: Pick<ConfigDiff, 'added' | 'removed' | 'changed' | 'unchanged'>): string {
  const part = (label: string, names: string[]) => (names.length === 0 ? [] : [`${label} ${names.join(', ')}`]);
  const parts = [...part('added', diff.added), ...part('removed', diff.removed), ...part('changed', diff.changed)];
  return parts.length === 0 ? `no account changed (${diff.unchanged.length} unchanged)` : `${parts.join('; ')} (${diff.unchanged.length} unchanged)`;
}

/** What a reload did: the accounts by what happened to them, or, when it was refused, why. */
export interface ReloadResult extends Omit<ConfigDiff, 'needsRestart'> {
  /** True when the new config runs; false when the running config was kept (`problems` says why). */
  applied: boolean;
  /** Why the reload was refused: config errors, missing credentials, changes that need a restart. */
  problems: string[];
}

/** A refused reload: nothing changed. */
export function refused(problems: string[]): ReloadResult {
  return { applied: false, added: [], removed: [], changed: [], unchanged: [], problems };
}
