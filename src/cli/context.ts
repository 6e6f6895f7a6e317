/** What every command shares: the global options, the core for a short command, and argument parsers. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { type Config, configOverrides, configPath, loadConfig } from '../config/load.ts';
import { logConfigWarnings } from '../config/warnings.ts';
import { createInvitebus, type Invitebus, replayFilter } from '../core/invitebus.ts';
import { identifierProblem } from '../identifiers.ts';
import { parseMapping } from '../input/columns.ts';
import { emailField } from '../invites/fields.ts';
import { createLogger } from '../logger.ts';
import { isRedisUnreachable, redisUnavailable } from '../redis.ts';
import { describeRedis, openRedis } from '../redis-connection/factory.ts';
import { parseDuration } from '../replay.ts';
import { REPLAYABLE_REASONS, type ReplayFilter } from '../types.ts';

export type Globals = { config?: string; redisUrl?: string };

/** Whether this process has said the config's warnings (a command loads its config once; say them once). */
let warned = false;

/** The command's config; its warnings (overlapping profiles, ...) said once on stderr, through the logger. */
export function config(cmd: Command): Config {
  const globals = cmd.optsWithGlobals<Globals>();
  const cfg = loadConfig(configPath(globals.config, process.env), configOverrides(globals, process.env));
  if (!warned) {
    warned = true;
    logConfigWarnings(cfg, createLogger({ level: cfg.log.level, destination: pino.destination({ dest: 2, sync: true }) }));
  }
  return cfg;
}

/** How long an enqueue waits out an outage it meets (a failover takes seconds) before it stops. */
export const LONG_COMMAND_RIDE_OUT_MS = 20_000;

/** Closing waits this long at most: a command that met an outage must still end in seconds. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Runs a short command with the operations core on a connection that gives up on Redis within seconds (one line,
 * exit 2: see `main`), closing it afterwards.
 */
export async function withInvitebus<T>(cmd: Command, fn: (ib: Invitebus, cfg: Config) => Promise<T>, options: { rideOutMs?: number } = {}): Promise<T> {
  const cfg = config(cmd);
  const redis = await openRedis(cfg, options);
  const ib = await createInvitebus(cfg, { redis });
  try {
    return await fn(ib, cfg);
  } catch (error) {
    throw isRedisUnreachable(error) ? redisUnavailable(describeRedis(cfg.redis), error) : error;
  } finally {
    const closed = ib.close().then(() => redis.quit());
    await Promise.race([closed.catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    redis.disconnect();
  }
}

/** Time a stop may take beyond the in-flight deadline (closing queues and connections). */
export const CLOSE_GRACE_MS = 5_000;

export const duration = (value: string) => {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
/** A batch id, by the one identifier rule (src/identifiers.ts): refused as a usage error before anything runs. */
export const batchId = (value: string) => {
  const problem = identifierProblem('batch id', value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
};
/** A person's address, by the same rule as an invite's: anything else is a usage error before anything runs. */
export const emailArg = (value: string) => {
  const checked = emailField.safeParse(value);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]?.message ?? 'not a valid email address');
  return value;
};
/** `--account a,b --account c`: every name, each by the identifier rule, in order, once. */
export const accountList = (value: string, previous: string[]) => {
  const names = value.split(',').map((n) => n.trim());
  for (const name of names) {
    const problem = identifierProblem('account name', name);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
  }
  return [...new Set([...previous, ...names])];
};
/** `--map 'Work Email=email'`, repeatable, into one header → field object; an unknown field is a usage error. */
export const columnMapping = (value: string, previous: Record<string, string> = {}) => {
  try {
    const [header, field] = parseMapping(value);
    return { ...previous, [header]: field };
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
export const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
/**
 * `--set field=value`, repeatable, into one object. A value starting with `[` or `{` is read as JSON (UniBee's
 * `roleIds=["12"]`); anything else is a string.
 */
export const setField = (value: string, previous: Record<string, unknown> = {}) => {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`'${value}' is not field=value (e.g. role=member)`);
  const field = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  if (/^\s*[[{]/.test(raw)) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new InvalidArgumentError(`${field}: '${raw}' is not valid JSON`);
    }
  }
  return { ...previous, [field]: parsed };
};

export function replayFilterOf(opts: { account?: string[]; batch?: string; reason?: string; since?: number }): ReplayFilter {
  return replayFilter({ accounts: opts.account, batchId: opts.batch, reason: opts.reason, sinceMs: opts.since });
}

export function addReplayFilters(cmd: Command): Command {
  return cmd
    .option('--account <names>', 'only these accounts (comma-separated)', list)
    .option('--batch <id>', 'only invites of this batch', batchId)
    .addOption(new Option('--reason <class>', 'only failures of this class').choices(REPLAYABLE_REASONS))
    .option('--since <duration>', 'only invites that failed within this long (e.g. 1h)', duration);
}
