/** The wrapper of pop-markers.lua: owns its KEYS order and its result's shape. */
import { QueueKeys } from 'bullmq';
import { defineScript } from './define.ts';

export interface PopMarkersInput {
  prefix: string;
  /** The account queues whose markers to pop (a queue is named after its account). */
  accounts: readonly string[];
}

/** The markers popped: position (0-based, in `accounts`) and score (0: work now; else ms when a delayed job is due). */
export const popMarkers = defineScript<PopMarkersInput, Array<{ position: number; score: number }>>({
  file: 'pop-markers',
  keys: 'variable',
  encode: ({ prefix, accounts }) => {
    const keys = new QueueKeys(prefix);
    return { keys: accounts.map((a) => keys.toKey(a, 'marker')), args: [] };
  },
  decode: (reply) => {
    const flat = reply as Array<string | number>;
    const out: Array<{ position: number; score: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ position: Number(flat[i]) - 1, score: Number(flat[i + 1]) });
    return out;
  },
});
