import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** The CLI entry point, as users run it. */
export const BIN = join(import.meta.dirname, '../../bin/invitebus.js');

/** A finished CLI run. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

/** A CLI process still running: its output so far, and its end. */
export interface CliProcess {
  child: ChildProcess;
  done: Promise<CliRun>;
  stdout(): string;
  stderr(): string;
}

/**
 * Spawns CLI processes for one test file and kills any still running when the file ends. The environment is
 * the test's own plus `env`, less REDIS_URL unless given (a developer's REDIS_URL must not redirect a test).
 */
export function useCli(baseEnv: Record<string, string | undefined> = {}) {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function start(args: string[], env: Record<string, string | undefined> = {}, command: string[] = [process.execPath, BIN], cwd?: string): CliProcess {
    const { REDIS_URL: _ignored, ...inherited } = process.env;
    const [file, ...pre] = command as [string, ...string[]];
    const started = Date.now();
    const child = spawn(file, [...pre, ...args], { env: { ...inherited, ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const done = new Promise<CliRun>((resolve) =>
      child.on('exit', (code, signal) => {
        // 'exit' can come before the pipes drain: wait for both to close.
        let open = 2;
        const finish = () => {
          open -= 1;
          if (open === 0) resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
        };
        if (child.stdout?.closed ?? true) finish();
        else child.stdout?.once('close', finish);
        if (child.stderr?.closed ?? true) finish();
        else child.stderr?.once('close', finish);
      }),
    );
    return { child, done, stdout: () => stdout, stderr: () => stderr };
  }

  return {
    start,
    /** Runs the CLI to its end. */
    run: (args: string[], env: Record<string, string | undefined> = {}) => start(args, env).done,
  };
}
