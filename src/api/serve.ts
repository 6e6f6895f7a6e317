import type { FastifyInstance } from 'fastify';
import { resolveCredentials } from '../config/credentials.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { addQueueGauges, createMetrics } from '../metrics.ts';
import { Producer } from '../producer.ts';
import { type RunningWorkers, runWorkers } from '../worker/run.ts';
import { buildApi } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  producer: Producer;
  workers?: RunningWorkers;
  close(): Promise<void>;
}

/** `invitebus serve`: the HTTP API, /metrics and /dashboard, optionally with the workers in the same process. */
export async function startServer(
  config: Config,
  options: { env: NodeJS.ProcessEnv; logger: Logger; port?: number; host?: string; withWorkers?: boolean },
): Promise<RunningServer> {
  const { values, problems } = resolveCredentials('api', { token: config.api.token }, options.env, config.baseDir);
  if (problems.length > 0 || !values.token) {
    throw new InvitebusError(
      'CREDENTIAL_MISSING',
      `the API needs a bearer token: ${problems.join('; ').replace("account 'api' has no credentials.token: ", '')}`,
    );
  }
  const metrics = createMetrics();
  const producer = new Producer(config);
  addQueueGauges(metrics.registry, producer);
  const workers = options.withWorkers ? await runWorkers(config, { env: options.env, logger: options.logger, metrics }) : undefined;
  const app = await buildApi({ producer, token: values.token, registry: metrics.registry, bodyLimit: config.api.bodyLimitBytes });
  const url = await app.listen({ port: options.port ?? config.api.port, host: options.host ?? config.api.host });
  options.logger.info({ url, withWorkers: Boolean(workers) }, 'API listening');
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
