import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { type Config, parseConfig } from '../src/config/load.ts';
import { type OwnRedis, startOwnRedis } from '../src/embedded-redis.ts';
import { writeConfigIn } from '../test/support/processes.ts';

export const silent = pino({ level: 'silent' });

/** One figure next to its same-run baseline. */
export interface Result {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value / baseline (or as stated in `note`). */
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
}

export function machine() {
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis,
    platform: process.platform,
  };
}

export function print(r: Result): void {
  const base = r.baseline ? ` | baseline ${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit} | ratio ${r.ratio?.toFixed(2)}` : '';
  const target = r.target ? ` | target ${r.target}: ${r.met ? 'met' : 'MISSED'}` : '';
  process.stdout.write(`${r.scenario} | ${r.metric}: ${fmt(r.value)} ${r.unit}${base}${target}${r.note ? ` | ${r.note}` : ''}\n`);
}

export const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));

export async function redis(): Promise<OwnRedis> {
  return startOwnRedis();
}

let seq = 0;
export function config(url: string, accounts: Record<string, unknown>, extra: Record<string, unknown> = {}): Config {
  seq += 1;
  return parseConfig({ redis: { url, prefix: `bench${seq}` }, log: { level: 'silent' }, ...extra, accounts });
}

/** A config file for worker child processes, in a folder removed when the bench process exits. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ib-bench-workers-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return writeConfigIn(dir, config);
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resident set size of a process, from /proc (kB → MB); VmHWM is its peak so far. */
export function rssOf(pid: number): { rssMB: number; peakMB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** A process and its descendants (the CLI re-runs itself with V8 flags: the work happens in a child). */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [pid];
  }
}

/** RSS of the process of a tree that does the work (the largest), MB. */
export function treeRss(pid: number): { rssMB: number; peakMB: number } | undefined {
  const all = processTree(pid)
    .map((p) => rssOf(p))
    .filter((r): r is { rssMB: number; peakMB: number } => r !== undefined);
  return all.sort((a, b) => b.peakMB - a.peakMB)[0];
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export const betterstack = (baseUrl: string, extra: Record<string, unknown> = {}) => ({
  provider: 'betterstack',
  baseUrl,
  credentials: { token: { env: 'BENCH_TOKEN' } },
  ...extra,
});
export const ENV = { BENCH_TOKEN: 'bs-team-token' };

/** Redis's own count of commands (those inside scripts included) and the µs spent in them, since `resetRedisStats`. */
export async function redisWork(url: string): Promise<{ calls: number; usec: number; top: string }> {
  const c = new Redis(url);
  const info = await c.info('commandstats');
  await c.quit();
  const rows = [...info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)].map((m) => ({ name: m[1] as string, calls: Number(m[2]), usec: Number(m[3]) }));
  const mine = rows.filter((r) => r.name !== 'info' && r.name !== 'config|resetstat');
  const top = [...mine]
    .sort((a, b) => b.usec - a.usec)
    .slice(0, 8)
    .map((r) => `${r.name} ${r.calls}× ${r.usec} µs`)
    .join(', ');
  return { calls: mine.reduce((a, r) => a + r.calls, 0), usec: mine.reduce((a, r) => a + r.usec, 0), top };
}

export async function resetRedisStats(url: string): Promise<void> {
  const c = new Redis(url);
  await c.config('RESETSTAT');
  await c.quit();
}

/** Runs a child to completion, sampling its peak RSS from /proc; returns wall time and peak. */
export function timed(args: string[], env: Record<string, string> = {}): Promise<{ ms: number; peakMB: number; out: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let peak = 0;
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, treeRss(child.pid)?.peakMB ?? 0);
    }, 20);
    child.on('exit', (code) => {
      clearInterval(sampler);
      if (code !== 0 && code !== 1) reject(new Error(`${args.join(' ')} exited ${code}: ${out}`));
      else resolve({ ms: Date.now() - started, peakMB: peak, out });
    });
  });
}
