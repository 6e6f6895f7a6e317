/** The wrapper of mark-seen.lua: owns its KEYS/ARGV order and its result code. */
import { defineScript } from './define.ts';

/** mark-seen's answer for the first occurrence of a job id in a run (any other is the first one's position). */
export const FIRST_OCCURRENCE = -1;

export interface MarkSeenInput {
  /** The run's hash (`invitebusKeys(prefix).runSeen(...)`). */
  runKey: string;
  /** How long the hash outlives the run's last call. */
  ttlMs: number;
  /** Each invite's job id and its position in the input. */
  entries: ReadonlyArray<{ id: string; index: number }>;
}

/** One number per entry: FIRST_OCCURRENCE, or the input position of the first occurrence of its job id in this run. */
export const markSeen = defineScript<MarkSeenInput, number[]>({
  file: 'mark-seen',
  keys: 1,
  encode: ({ runKey, ttlMs, entries }) => ({
    keys: [runKey],
    args: [String(ttlMs), ...entries.flatMap(({ id, index }) => [id, String(index)])],
  }),
  decode: (reply) => (reply as unknown[]).map(Number),
});
