/**
 * The worker process: one BullMQ worker per account, until SIGTERM/SIGINT.
 * Run it as `invitebus worker` or `node workers/invite-worker.ts --config FILE [--account a,b]`.
 * Start as many as you like, on as many machines as you like, against the same Redis.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { configPath, loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { runWorkers } from '../src/worker/run.ts';

export async function runWorkerProcess(options: { config?: string; accounts?: string[]; metricsPort?: number }): Promise<void> {
  const config = loadConfig(configPath(options.config, process.env));
  const logger = createLogger({ level: config.log.level });
  const metrics = createMetrics();
  const running = await runWorkers(config, { ...(options.accounts ? { accounts: options.accounts } : {}), env: process.env, logger, metrics });
  // This process's counters and histograms (scrape every worker process; sum by account).
  const metricsServer =
    options.metricsPort === undefined
      ? undefined
      : createServer(async (_req, res) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(await metrics.registry.metrics());
        }).listen(options.metricsPort);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.worker.shutdownTimeoutMs }, 'shutting down: finishing in-flight calls');
    metricsServer?.close();
    const { clean } = await running.close();
    logger.info({ clean }, 'worker stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { config: { type: 'string' }, account: { type: 'string' }, 'metrics-port': { type: 'string' } } });
  runWorkerProcess({
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(values['metrics-port'] === undefined ? {} : { metricsPort: Number(values['metrics-port']) }),
    ...(values.account === undefined
      ? {}
      : {
          accounts: values.account
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }),
  }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
