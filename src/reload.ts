/**
 * A long-running process's config reload (SIGHUP, `POST /v1/config/reload`): the file is read and validated whole
 * first; a config the process could not start with, or one that changes what only a restart applies (Redis, the
 * prefix, ...), is refused and the running config kept. Otherwise the workers take it over account by account
 * (src/worker/run.ts) and so does the API's producer. One line in the log per reload, naming accounts, never
 * settings or secrets.
 */
import { describeDiff, diffConfig, type ReloadResult, refused } from './config/diff.ts';
import type { Config } from './config/load.ts';
import { logConfigWarnings } from './config/warnings.ts';
import { InvitebusError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Producer } from './producer.ts';
import { redisSecretProblems } from './redis-connection/factory.ts';
import type { RunningWorkers } from './worker/run.ts';

/** Reloads one process's config from its file. */
export interface ConfigReloader {
  /** The config running now. */
  readonly config: Config;
  /** Reads the file again and applies it, or keeps the running config and says why; one reload at a time. */
  reload(): Promise<ReloadResult>;
  /** Called with the new config after each applied reload (the dashboard's list of queues). */
  onApplied(listener: (config: Config) => void): void;
}

/** The problems of a config that could not be read or validated (every one, as `loadConfig` lists them). */
function loadProblems(error: unknown): string[] {
  if (error instanceof InvitebusError && (error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_NOT_FOUND')) {
    return error.details.length > 0 ? [...error.details] : [error.message];
  }
  throw error;
}

export function createReloader(options: {
  /** The config the process started with. */
  config: Config;
  /** Reads and validates the config file (with the process's overrides: --redis-url, REDIS_URL). */
  load: () => Config;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The workers of this process, if it runs any: they check the accounts' credentials and apply the accounts. */
  workers?: RunningWorkers | undefined;
  /** The API's producer (`serve`): takes the new accounts, profiles and intake. */
  producer?: Producer | undefined;
}): ConfigReloader {
  let current = options.config;
  const listeners: Array<(config: Config) => void> = [];
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (): Promise<ReloadResult> => {
    let next: Config;
    try {
      next = options.load();
    } catch (error) {
      return refused(loadProblems(error));
    }
    let result: ReloadResult;
    if (options.workers) result = await options.workers.reload(next);
    else {
      // No workers here (`serve` alone): no account credential is read in this process, as at start.
      const { needsRestart, ...plan } = diffConfig(current, next);
      const problems = [...needsRestart, ...redisSecretProblems(next, options.env)];
      result = problems.length > 0 ? refused(problems) : { applied: true, ...plan, problems: [] };
    }
    if (!result.applied) return result;
    current = next;
    options.producer?.useConfig(next);
    for (const listener of listeners) listener(next);
    logConfigWarnings(next, options.logger);
    return result;
  };

  return {
    get config() {
      return current;
    },
    reload() {
      const result = queue
        .then(run)
        .then((r) => {
          if (r.applied) options.logger.info({ added: r.added, removed: r.removed, changed: r.changed }, `config reloaded: ${describeDiff(r)}`);
          else options.logger.error({ problems: r.problems }, `config reload refused, the running config is kept: ${r.problems.join('; ')}`);
          return r;
        })
        .catch((error: unknown) => {
          // Redis failed while accounts were being swapped: what stopped and started so far stays as it is.
          options.logger.error({ err: error }, 'config reload failed part-way; send SIGHUP again once Redis answers');
          throw error;
        });
      queue = result.catch(() => undefined);
      return result;
    },
    onApplied(listener) {
      listeners.push(listener);
    },
  };
}
