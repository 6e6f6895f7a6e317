import type { FastifyInstance } from 'fastify';
import { resolveCredentials } from '../config/credentials.ts';
import { refused } from '../config/diff.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { addQueueGauges, createMetrics } from '../metrics.ts';
import { Producer } from '../producer.ts';
import { OutageReporter } from '../redis.ts';
import { describeRedis, redisSecretProblems } from '../redis-connection/factory.ts';
import { connectionHealth } from '../redis-connection/liveness.ts';
import { type ConfigReloader, createReloader } from '../reload.ts';
import { checkWorkerCredentials, type RunningWorkers, runWorkers } from '../worker/run.ts';
import { buildApi } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  producer: Producer;
  workers?: RunningWorkers;
  /** Reloads the config file (SIGHUP, `POST /v1/config/reload`), when the server was given `load`. */
  reloader?: ConfigReloader;
  close(): Promise<void>;
}

/**
 * `invitebus serve`: the HTTP API, /metrics and /dashboard, optionally with the workers in the same process.
 * Every credential is checked before anything starts (all missing ones listed at once). The API listens even
 * while Redis is away: /readyz then says so, and the process retries until Redis answers.
 */
export async function startServer(
  config: Config,
  options: {
    env: NodeJS.ProcessEnv;
    logger: Logger;
    port?: number;
    host?: string;
    withWorkers?: boolean;
    /** Reads and validates the config file again: with it, the server reloads on `POST /v1/config/reload`. */
    load?: () => Config;
  },
): Promise<RunningServer> {
  const refs = Object.fromEntries([['token', config.api.token], ...config.api.readOnlyTokens.map((ref, i) => [`readOnlyTokens.${i}`, ref])]);
  const { values, problems } = resolveCredentials('api', refs, options.env, config.baseDir);
  const readOnlyTokens = config.api.readOnlyTokens.map((_, i) => values[`readOnlyTokens.${i}`]).filter((t): t is string => t !== undefined);
  const missing = [
    ...(problems.length > 0 || !values.token
      ? [`the API needs its tokens: ${problems.join('; ').replaceAll("account 'api' has no credentials.", 'api.')}`]
      : []),
  ];
  missing.push(...(options.withWorkers ? checkWorkerCredentials(config, undefined, options.env).problems : redisSecretProblems(config, options.env)));
  if (missing.length > 0) throw new InvitebusError('CREDENTIAL_MISSING', `missing credentials:\n  ${missing.join('\n  ')}`, { details: missing });

  const metrics = createMetrics();
  const outage = new OutageReporter(describeRedis(config.redis), options.logger);
  connectionHealth.useLog(options.logger);
  // A request during an outage fails within seconds (503) instead of waiting out 20 reconnects.
  const producer = new Producer(config, { outage, env: options.env, redisOptions: { maxRetriesPerRequest: 3 } });
  addQueueGauges(metrics.registry, producer);
  // Made once the workers run (they apply the accounts); until then a reload is refused as too early.
  let reloader: ConfigReloader | undefined;
  const load = options.load;
  const reload = load && (() => reloader?.reload() ?? Promise.resolve(refused(['the server is still starting: reload again once it runs'])));
  const app = await buildApi({
    ...(reload ? { reload } : {}),
    producer,
    token: values.token as string,
    readOnlyTokens,
    registry: metrics.registry,
    bodyLimit: config.api.bodyLimitBytes,
    logger: options.logger,
  });
  const url = await app.listen({ port: options.port ?? config.api.port, host: options.host ?? config.api.host });
  options.logger.info({ url, withWorkers: Boolean(options.withWorkers), pid: process.pid }, 'API listening');
  let workers: RunningWorkers | undefined;
  try {
    workers = options.withWorkers ? await runWorkers(config, { env: options.env, logger: options.logger, metrics, outage }) : undefined;
  } catch (error) {
    await app.close();
    await producer.close();
    throw error;
  }
  if (load) reloader = createReloader({ config, load, env: options.env, logger: options.logger, workers, producer });
  return {
    app,
    url,
    producer,
    ...(workers ? { workers } : {}),
    ...(reloader ? { reloader } : {}),
    async close() {
      await app.close();
      await workers?.close();
      await producer.close();
    },
  };
}
