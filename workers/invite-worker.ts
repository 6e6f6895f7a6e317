/**
 * The worker process: serves every account (a BullMQ worker per account with work), until SIGTERM/SIGINT;
 * SIGHUP reloads the config.
 * Run it as `invitebus worker` or `node workers/invite-worker.ts --config FILE [--account a,b]`.
 * Start as many as you like, on as many machines as you like, against the same Redis.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { configOverrides, configPath, loadConfig } from '../src/config/load.ts';
import { logConfigWarnings } from '../src/config/warnings.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { type ConfigReloader, createReloader } from '../src/reload.ts';
import { exitOnSignal, logUnhandledRejections, reloadOnSignal } from '../src/signals.ts';
import { watchHeap } from '../src/worker/heap-watch.ts';
import { runWorkers } from '../src/worker/run.ts';

export async function runWorkerProcess(options: { config?: string; redisUrl?: string; accounts?: string[]; metricsPort?: number }): Promise<void> {
  // The same file and overrides at start and at each reload (SIGHUP).
  const load = () => loadConfig(configPath(options.config, process.env), configOverrides(options, process.env));
  const config = load();
  const logger = createLogger({ level: config.log.level });
  logConfigWarnings(config, logger);
  logUnhandledRejections(logger);
  const metrics = createMetrics();
  // Signals are handled from the start: while the start waits for Redis, a SIGTERM still ends cleanly.
  let running: Awaited<ReturnType<typeof runWorkers>> | undefined;
  let metricsServer: ReturnType<typeof createServer> | undefined;
  exitOnSignal(
    async () => {
      logger.info({ deadlineMs: config.worker.shutdownTimeoutMs }, 'shutting down: finishing in-flight calls');
      metricsServer?.close();
      const { clean } = (await running?.close()) ?? { clean: true };
      logger.info({ clean }, 'worker stopped');
      logger.flush?.();
    },
    {
      deadlineMs: config.worker.shutdownTimeoutMs + 5_000,
      onLate: () => logger.warn('shutdown deadline passed; exiting with connections still closing'),
    },
  );
  let reloader: ConfigReloader | undefined;
  reloadOnSignal(() => reloader, logger);
  watchHeap(logger);
  running = await runWorkers(config, { ...(options.accounts ? { accounts: options.accounts } : {}), env: process.env, logger, metrics });
  reloader = createReloader({ config, load, env: process.env, logger, workers: running });
  // This process's counters and histograms (scrape every worker process; sum by account).
  metricsServer =
    options.metricsPort === undefined
      ? undefined
      : createServer(async (_req, res) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(await metrics.registry.metrics());
        }).listen(options.metricsPort);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, 'redis-url': { type: 'string' }, account: { type: 'string' }, 'metrics-port': { type: 'string' } },
  });
  runWorkerProcess({
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(values['redis-url'] === undefined ? {} : { redisUrl: values['redis-url'] }),
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
    process.exit(2);
  });
}
