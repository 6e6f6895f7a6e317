/** The wrapper of recount-batch.lua: owns its KEYS/ARGV order and the shape of its answer. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

export interface RecountBatchInput {
  prefix: string;
  batchId: string;
  /** 'check' only reports; 'repair' writes the recomputed counters. */
  mode: 'check' | 'repair';
  /** The event stream's MAXLEN (a repair may complete the batch). */
  maxLen: number;
}

/** A counter whose stored value differs from the one recomputed from the members. */
export interface CounterDrift {
  field: string;
  stored: number;
  expected: number;
}

/** Recomputes a batch's counters from its members and results; the counters that differ. */
export const recountBatch = defineScript<RecountBatchInput, CounterDrift[]>({
  file: 'recount-batch',
  keys: 5,
  encode: ({ prefix, batchId, mode, maxLen }) => {
    const k = invitebusKeys(prefix);
    return {
      keys: [k.batch(batchId), k.batchMembers(batchId), k.batchResults(batchId), k.batchWriters(batchId), k.events],
      args: [mode, String(maxLen), batchId],
    };
  },
  decode: (reply) => {
    const flat = reply as string[];
    const out: CounterDrift[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      out.push({ field: flat[i] as string, stored: Number(flat[i + 1]), expected: Number(flat[i + 2]) });
    }
    return out;
  },
});
