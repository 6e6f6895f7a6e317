/** `worker` and `serve`: the long-running processes. */

import type { Command } from 'commander';
import { runWorkerProcess } from '../../../workers/invite-worker.ts';
import { configOverrides, configPath, loadConfig } from '../../config/load.ts';
import { createLogger } from '../../logger.ts';
import { exitOnSignal, logUnhandledRejections, reloadOnSignal } from '../../signals.ts';
import { CLOSE_GRACE_MS, config, type Globals, list } from '../context.ts';

export function registerRun(program: Command): void {
  program
    .command('worker')
    .description('run the invite workers (all accounts by default) until SIGTERM/SIGINT; SIGHUP reloads the config')
    .option('--account <names>', 'comma-separated accounts to work on', list)
    .option('--metrics-port <port>', 'serve this process’s Prometheus metrics on this port', (v) => Number(v))
    .action(async (opts: { account?: string[]; metricsPort?: number }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      await runWorkerProcess({
        ...(globals.config === undefined ? {} : { config: globals.config }),
        ...configOverrides(globals, process.env),
        ...(opts.account ? { accounts: opts.account } : {}),
        ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
      });
    });

  program
    .command('serve')
    .description('run the HTTP API and the console (/v1, /console, /metrics, /docs, /dashboard); needs $INVITEBUS_API_TOKEN; SIGHUP reloads the config')
    .option('--port <port>', 'port (default: api.port, 8080)', (v) => Number(v))
    .option('--host <host>', 'address to bind (default: api.host, 127.0.0.1)')
    .option('--with-workers', 'also run the workers in this process')
    .action(async (opts: { port?: number; host?: string; withWorkers?: boolean }, cmd: Command) => {
      const cfg = config(cmd);
      const globals = cmd.optsWithGlobals<Globals>();
      const logger = createLogger({ level: cfg.log.level });
      logUnhandledRejections(logger);
      const { startServer } = await import('../../api/serve.ts');
      // Installed first: a SIGTERM while the start waits for Redis ends the process cleanly too.
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      exitOnSignal(async () => server?.close(), {
        deadlineMs: cfg.worker.shutdownTimeoutMs + CLOSE_GRACE_MS,
        onLate: () => logger.warn('shutdown deadline passed; exiting with connections still closing'),
      });
      reloadOnSignal(() => server?.reloader, logger);
      server = await startServer(cfg, {
        env: process.env,
        logger,
        load: () => loadConfig(configPath(globals.config, process.env), configOverrides(globals, process.env)),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        withWorkers: opts.withWorkers ?? false,
      });
      console.log(`invitebus API on ${server.url} (console at ${server.url}/console, OpenAPI at ${server.url}/docs, dashboard at ${server.url}/dashboard)`);
    });
}
