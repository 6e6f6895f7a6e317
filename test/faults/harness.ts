import { type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { writeConfigIn } from '../support/processes.ts';
import { tempDir } from '../support/temp-dir.ts';

/** Prints a figure line the CI log keeps ("fault figures: ..."). */
export function figure(name: string, values: Record<string, number | string>): void {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(`fault figures: ${name}: ${text}\n`);
}

/** A config file for worker child processes, in a folder removed after the test (or file) that made it. */
export function writeConfig(config: Record<string, unknown>): string {
  return writeConfigIn(tempDir('ib-faults-'), config);
}

/** A Redis of the test's own, with persistence as asked. */
export function ownRedis(options: Parameters<typeof startOwnRedis>[0] = {}): Promise<OwnRedis> {
  return startOwnRedis(options);
}

export { startWorker, type WorkerProcess } from '../support/processes.ts';
export { maxInWindow, perSecond } from '../support/timing.ts';
