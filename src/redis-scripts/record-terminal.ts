/** The wrapper of record-terminal.lua: owns its KEYS/ARGV order and its result codes. */
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** record-terminal's answers: 0 already written, 1 written; more is written and the ms a live writer holds the batch. */
export const RECORD_RESULT = { alreadyWritten: 0, written: 1 } as const;

export interface RecordTerminalInput {
  prefix: string;
  account: string;
  inviteId: string;
  /** The enqueue time in the job's data: it names the terminal marker. */
  enqueuedAt: number;
  /** The batch that counts it ('' for none). */
  batchId: string;
  /** The outcome as remembered by the marker and the batch's results (JSON of an object). */
  recordedJson: string;
  /** The outcome's kind and its reason class ('' for none): what the batch counts. */
  kind: string;
  reasonClass: string;
  /** How long the marker and the batch keys live. */
  ttlMs: number;
  /** The event stream's MAXLEN. */
  maxLen: number;
  /** The client's minute (epoch ms / 60000), for the account's throughput sparkline. */
  minute: number;
  /** The event's fields, name and value in turn. */
  eventFields: string[];
  /**
   * The invite's sent record (src/invites/sent-record.ts) when it succeeded and its job is removed as it completes:
   * written instead of the marker. Absent: the marker is written.
   */
  sent?: { json: string; ttlMs: number };
}

/** Appends an invite's terminal event and counts it in its batch, once. */
export const recordTerminal = defineScript<RecordTerminalInput, { written: boolean; writerLiveMs: number }>({
  file: 'record-terminal',
  keys: 9,
  encode: (r) => {
    const k = invitebusKeys(r.prefix);
    return {
      keys: [
        k.terminalMarker(r.account, r.inviteId, r.enqueuedAt),
        k.events,
        k.batch(r.batchId),
        k.batchMembers(r.batchId),
        k.batchResults(r.batchId),
        k.batchWriters(r.batchId),
        k.throughput(r.account),
        k.sent(r.account, r.inviteId),
        k.sentCount(r.account),
      ],
      args: [
        r.recordedJson,
        String(r.ttlMs),
        String(r.maxLen),
        r.batchId,
        `${r.account}/${r.inviteId}`,
        String(r.ttlMs),
        String(r.minute),
        r.kind,
        r.reasonClass,
        r.sent?.json ?? '',
        String(r.sent?.ttlMs ?? 0),
        String(Math.floor(r.minute / 1440)),
        String(r.enqueuedAt),
        ...r.eventFields,
      ],
    };
  },
  decode: (reply) => {
    const n = Number(reply);
    return { written: n >= RECORD_RESULT.written, writerLiveMs: n > RECORD_RESULT.written ? n : 0 };
  },
});
