/**
 * The worker process: one BullMQ worker per account, until SIGTERM/SIGINT.
 * Run it as `invitebus worker` or `node workers/invite-worker.ts --config FILE [--account a,b]`.
 * Start as many as you like, on as many machines as you like, against the same Redis.
 */
import { parseArgs } from 'node:util';
import { configPath, loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/logger.ts';
import { runWorkers } from '../src/worker/run.ts';

export async function runWorkerProcess(options: { config?: string; accounts?: string[] }): Promise<void> {
  const config = loadConfig(configPath(options.config, process.env));
  const logger = createLogger({ level: config.log.level });
  const running = await runWorkers(config, { ...(options.accounts ? { accounts: options.accounts } : {}), env: process.env, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.worker.shutdownTimeoutMs }, 'shutting down: finishing in-flight calls');
    const { clean } = await running.close();
    logger.info({ clean }, 'worker stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { config: { type: 'string' }, account: { type: 'string' } } });
  runWorkerProcess({
    ...(values.config === undefined ? {} : { config: values.config }),
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
