import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { waitFor } from '../support/pipeline.ts';

const WORKER = join(import.meta.dirname, '../../workers/invite-worker.ts');

/** Prints a figure line the CI log keeps ("fault figures: ..."). */
export function figure(name: string, values: Record<string, number | string>): void {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(`fault figures: ${name}: ${text}\n`);
}

/** A config file for worker child processes. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ib-faults-'));
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

export async function startWorker(configPath: string, env: Record<string, string>, args: string[] = []): Promise<WorkerProcess> {
  // With the V8 flags `invitebus worker` runs with (bin/invitebus.js), so memory is measured as in production.
  const child = spawn(process.execPath, ['--max-semi-space-size=8', '--max-old-space-size=128', WORKER, '--config', configPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** A Redis of the test's own, with persistence as asked. */
export function ownRedis(options: Parameters<typeof startOwnRedis>[0] = {}): Promise<OwnRedis> {
  return startOwnRedis(options);
}

export { maxInWindow, perSecond } from '../support/timing.ts';
