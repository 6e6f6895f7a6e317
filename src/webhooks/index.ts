/**
 * Webhooks: results pushed to the HR system. Each worker process runs the fan-out (stream → a direct attempt
 * per endpoint, then the endpoint's queue for what is left) and a delivery worker per endpoint. Secrets are resolved here, from the environment or a file,
 * and live only in this process's memory: never in Redis, job data, events or logs.
 */
import { randomUUID } from 'node:crypto';
import { resolveCredentials } from '../config/credentials.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { startWebhookDelivery, type WebhookDelivery } from './delivery.ts';
import { type FanoutTuning, startFanout } from './fanout.ts';

/** Every webhook's secret, or one error listing each missing one. */
export function webhookSecrets(config: Config, env: NodeJS.ProcessEnv): Map<string, string> {
  const secrets = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, hook] of Object.entries(config.webhooks)) {
    const { values, problems: missing } = resolveCredentials(`webhook ${name}`, { secret: hook.secret }, env, config.baseDir);
    problems.push(...missing.map((p) => p.replace(`account 'webhook ${name}'`, `webhook '${name}'`)));
    if (values.secret !== undefined) secrets.set(name, values.secret);
  }
  if (problems.length > 0) throw new InvitebusError('CREDENTIAL_MISSING', `missing webhook secrets:\n  ${problems.join('\n  ')}`, { details: problems });
  return secrets;
}

export interface RunningWebhooks {
  deliveries: WebhookDelivery[];
  /** Events the fan-out read whose deliveries are not yet settled (delivered, queued, or left for the claim). */
  inFlight(): number;
  close(): Promise<void>;
}

export function startWebhooks(options: {
  config: Config;
  env: NodeJS.ProcessEnv;
  connection: RedisClient;
  logger: Logger;
  outage?: OutageReporter;
  /** Shorter claim and in-flight limits, for tests. */
  tuning?: FanoutTuning;
}): RunningWebhooks | undefined {
  const { config } = options;
  if (Object.keys(config.webhooks).length === 0) return undefined;
  const secrets = webhookSecrets(config, options.env);
  const events = new EventStream(options.connection, config.redis.prefix, config.events.maxLen);
  const onDisabled = async (name: string, since: number, message: string) => {
    await events.publish({ type: 'webhook.disabled', webhook: name, since, message, at: Date.now() });
  };
  const deliveries = [...secrets].map(([name, secret]) =>
    startWebhookDelivery({
      config,
      name,
      secret,
      connection: options.connection,
      logger: options.logger,
      ...(options.outage ? { outage: options.outage } : {}),
      onDisabled,
    }),
  );
  const fanout = startFanout({
    config,
    connection: options.connection,
    logger: options.logger,
    ...(options.outage ? { outage: options.outage } : {}),
    consumer: `worker-${randomUUID()}`,
    deliveries,
    ...(options.tuning ? { tuning: options.tuning } : {}),
  });
  return {
    deliveries,
    inFlight: () => fanout.inFlight(),
    async close() {
      await fanout.close();
      await Promise.all(deliveries.map((d) => d.close()));
    },
  };
}
