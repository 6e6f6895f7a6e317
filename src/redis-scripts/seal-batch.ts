/** The wrapper of seal-batch.lua: owns its KEYS/ARGV order. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

export interface SealBatchInput {
  prefix: string;
  batchId: string;
  /** The writer that is done ('' only checks). */
  writerId: string;
  /** 'seal': an enqueue, all its invites are in; 'release': a replay or a correction. */
  mode: 'seal' | 'release';
  /** The event stream's MAXLEN (batch.completed is written to it). */
  maxLen: number;
}

/** One writer of a batch is done; completes it if that was all. Returns for how long (ms) another writer holds it, or 0. */
export const sealBatch = defineScript<SealBatchInput, number>({
  file: 'seal-batch',
  keys: 3,
  encode: ({ prefix, batchId, writerId, mode, maxLen }) => {
    const k = invitebusKeys(prefix);
    return { keys: [k.batch(batchId), k.batchWriters(batchId), k.events], args: [String(maxLen), batchId, writerId, mode] };
  },
  decode: Number,
});
