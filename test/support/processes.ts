/**
 * Real child processes for the fault tests and the bench alike: no vitest here, so `node bench/run.ts` can
 * import it too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './pipeline.ts';

const WORKER = join(import.meta.dirname, '../../workers/invite-worker.ts');

/** Writes `config` as `invitebus.config.json` in `dir` (which the caller removes) and returns its path. */
export function writeConfigIn(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'invitebus.config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A worker process of its own (`node workers/invite-worker.ts`), killed for real by the tests. */
export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `workers/invite-worker.ts` on `configPath` and resolves once its workers have started. */
export async function startWorker(
  configPath: string,
  env: Record<string, string>,
  args: string[] = [],
  options: { /** The old generation's cap (default 128, as shipped). */ heapMb?: number } = {},
): Promise<WorkerProcess> {
  // With the V8 flags `invitebus worker` runs with (bin/invitebus.js), so memory is measured as in production.
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--max-semi-space-size=8',
      `--max-old-space-size=${options.heapMb ?? 128}`,
      WORKER,
      '--config',
      configPath,
      ...args,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitFor(() => out.includes('workers started') || child.exitCode !== null, 20_000, 'the worker process to start');
  if (child.exitCode !== null) throw new Error(`worker exited at start: ${out}`);
  return { child, output: () => out, exited };
}
