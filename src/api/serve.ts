import type { FastifyInstance } from 'fastify';
import { resolveCredentials } from '../config/credentials.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { addQueueGauges, createMetrics } from '../metrics.ts';
import { Producer } from '../producer.ts';
import { OutageReporter } from '../redis.ts';
import { checkWorkerCredentials, type RunningWorkers, runWorkers } from '../worker/run.ts';
import { buildApi } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  producer: Producer;
  workers?: RunningWorkers;
  close(): Promise<void>;
}

/**
 * `invitebus serve`: the HTTP API, /metrics and /dashboard, optionally with the workers in the same process.
 * Every credential is checked before anything starts (all missing ones listed at once). The API listens even
 * while Redis is away: /readyz then says so, and the process retries until Redis answers.
 */
export async function startServer(
  config: Config,
  options: { env: NodeJS.ProcessEnv; logger: Logger; port?: number; host?: string; withWorkers?: boolean },
): Promise<RunningServer> {
  const refs = Object.fromEntries([['token', config.api.token], ...config.api.readOnlyTokens.map((ref, i) => [`readOnlyTokens.${i}`, ref])]);
  const { values, problems } = resolveCredentials('api', refs, options.env, config.baseDir);
  const readOnlyTokens = config.api.readOnlyTokens.map((_, i) => values[`readOnlyTokens.${i}`]).filter((t): t is string => t !== undefined);
  const missing = [
    ...(problems.length > 0 || !values.token
      ? [`the API needs its tokens: ${problems.join('; ').replaceAll("account 'api' has no credentials.", 'api.')}`]
      : []),
  ];
  if (options.withWorkers) missing.push(...checkWorkerCredentials(config, undefined, options.env).problems);
  if (missing.length > 0) throw new InvitebusError('CREDENTIAL_MISSING', `missing credentials:\n  ${missing.join('\n  ')}`, { details: missing });

  const metrics = createMetrics();
  const outage = new OutageReporter(config.redis.url, options.logger);
  // A request during an outage fails within seconds (503) instead of waiting out 20 reconnects.
  const producer = new Producer(config, { outage, redisOptions: { maxRetriesPerRequest: 3 } });
  addQueueGauges(metrics.registry, producer);
  const app = await buildApi({
    producer,
    token: values.token as string,
    readOnlyTokens,
    registry: metrics.registry,
    bodyLimit: config.api.bodyLimitBytes,
    logger: options.logger,
  });
  const url = await app.listen({ port: options.port ?? config.api.port, host: options.host ?? config.api.host });
  options.logger.info({ url, withWorkers: Boolean(options.withWorkers) }, 'API listening');
  let workers: RunningWorkers | undefined;
  try {
    workers = options.withWorkers ? await runWorkers(config, { env: options.env, logger: options.logger, metrics, outage }) : undefined;
  } catch (error) {
    await app.close();
    await producer.close();
    throw error;
  }
  return {
    app,
    url,
    producer,
    ...(workers ? { workers } : {}),
    async close() {
      await app.close();
      await workers?.close();
      await producer.close();
    },
  };
}
