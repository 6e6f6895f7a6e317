/** The wrapper of unrecord-terminal.lua: owns its KEYS/ARGV order. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

export interface UnrecordTerminalInput {
  prefix: string;
  account: string;
  inviteId: string;
  /** The enqueue time in the job's data: it names the terminal marker. */
  enqueuedAt: number;
  /** The batch that counted it ('' for none). */
  batchId: string;
}

/** Forgets an invite's recorded terminal outcome and un-counts it from its batch: the outcome JSON removed, or null. */
export const unrecordTerminal = defineScript<UnrecordTerminalInput, string | null>({
  file: 'unrecord-terminal',
  keys: 4,
  encode: ({ prefix, account, inviteId, enqueuedAt, batchId }) => {
    const k = invitebusKeys(prefix);
    return {
      keys: [k.terminalMarker(account, inviteId, enqueuedAt), k.batch(batchId), k.batchMembers(batchId), k.batchResults(batchId)],
      args: [`${account}/${inviteId}`],
    };
  },
  decode: (reply) => (reply === null ? null : String(reply)),
});
