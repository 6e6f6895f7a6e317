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
  const child = spawn(process.execPath, [WORKER, '--config', configPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Per-second counts of timestamps (epoch ms), bucketed by calendar second. */
export function perSecond(times: number[]): number[] {
  const buckets = new Map<number, number>();
  for (const t of times) buckets.set(Math.floor(t / 1000), (buckets.get(Math.floor(t / 1000)) ?? 0) + 1);
  return [...buckets.values()];
}

/** The most timestamps inside any window of `windowMs` (sliding, half-open). */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
