/**
 * The batch accounting: invitebus's own Redis scripts, one file each in this folder (shared parts in includes/,
 * pulled in with `--- @include "includes/NAME"`, as BullMQ does), loaded once and registered on a connection as
 * EVALSHA commands. Each file states at its top the keys it touches and the invariant it keeps; the wrapper beside
 * it (`<name>.ts`) is the only code that knows its KEYS/ARGV order and its result codes, so callers pass named fields.
 *
 * INVARIANT. For every batch B:
 *   members(B)  = the invites whose BullMQ job exists and whose data names B (a set: enroll-invites adds a
 *                 member only after its job exists, SADD makes a rerun or a concurrent enqueue a no-op);
 *   total(B)    = |members(B)|, moved only when SADD adds;
 *   done(B)     = |members(B) with a recorded result| (record-terminal HSETNX: once per member and run;
 *                 unrecord-terminal takes a result back before a replay or a correction re-runs the invite);
 *   done <= total, and the per-outcome counts sum to done;
 *   refused, duplicates, alreadyInBatch count input rows that did not become a new member, as each enqueue
 *                 run read them (a rerun counts its rows again; none of them ever moves total): refused rows
 *                 failed validation, duplicates are people whose invite belongs to another batch (or none) or
 *                 who came earlier in the same input (mark-seen, per run), alreadyInBatch are people already
 *                 members of B (a rerun, or two enqueues of B at once) — never counted as duplicates;
 *   batch.completed is published once per round, by maybe-complete, when B is sealed, no writer (an enqueue
 *   or replay still adding, heartbeat WRITER_HEARTBEAT_MS) is live, and done >= total.
 * An invite belongs to one batch at a time (its job names one). An operator action (a replay, a correction)
 * moves a failed invite back in one script, move-failure: it forgets the recorded failure and moves the job
 * together, and only a failure recorded before the action began, so concurrent actions move it once and an
 * interrupted action has moved each failure or not. A withdrawn hire's pending invite is removed in one script,
 * cancel-invite, which counts it `cancelled` (done = succeeded + failed + cancelled) unless a worker holds it. Every script is idempotent, so a crash or an outage between
 * two of them is repaired by running the same command again.
 *
 * TIME IS REDIS'S. Every deadline and heartbeat compared inside a script (writer heartbeats, batch completion,
 * when a failure was recorded, call slots) is read from Redis `TIME` inside the script (includes/redis-now);
 * clients pass durations, never their own clock, because a writer's or a worker's clock may be off by minutes.
 */
import type { RedisClient } from '../redis-connection/factory.ts';
import { adaptRate } from './adapt-rate.ts';
import { cancelInvite } from './cancel-invite.ts';
import { claimPause } from './claim-pause.ts';
import { registerScript, runScript, type ScriptDef, sha } from './define.ts';
import { endAction } from './end-action.ts';
import { enrollInvites } from './enroll-invites.ts';
import { markSeen } from './mark-seen.ts';
import { moveFailureScript } from './move-failure.ts';
import { paceCall } from './pace-call.ts';
import { popMarkers } from './pop-markers.ts';
import { queuesWithWork } from './queues-with-work.ts';
import { recordTerminal } from './record-terminal.ts';
import { recountBatch } from './recount-batch.ts';
import { rescheduleInvite } from './reschedule-invite.ts';
import { sealBatch } from './seal-batch.ts';
import { unrecordTerminal } from './unrecord-terminal.ts';

export { WRITER_HEARTBEAT_MS } from './writer-heartbeat.ts';

/** Every script, by name: the registry (a test checks each wrapper against its `.lua`). */
export const SCRIPTS = {
  enrollInvites,
  recordTerminal,
  unrecordTerminal,
  moveFailure: moveFailureScript,
  endAction,
  recountBatch,
  sealBatch,
  paceCall,
  adaptRate,
  claimPause,
  markSeen,
  cancelInvite,
  rescheduleInvite,
  queuesWithWork,
  popMarkers,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type Input<D> = D extends ScriptDef<infer In, unknown> ? In : never;
type Output<D> = D extends ScriptDef<never, infer Out> ? Out : never;

/** A connection's scripts, each called with its named fields: `scripts(redis).sealBatch({ prefix, batchId, ... })`. */
export type Scripts = { [N in ScriptName]: (input: Input<(typeof SCRIPTS)[N]>) => Promise<Output<(typeof SCRIPTS)[N]>> };

/** The SHA1 a script is called by (EVALSHA): a test can recognise one on the wire. */
export function scriptSha(name: ScriptName): string {
  return sha(SCRIPTS[name] as ScriptDef<never, unknown>);
}

/** A connection's scripts (each registered on it at its first call). */
export function scripts(redis: RedisClient): Scripts {
  for (const def of Object.values(SCRIPTS)) registerScript(redis, def as ScriptDef<never, unknown>);
  return Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, def]) => [name, (input: unknown) => runScript(redis, def as ScriptDef<unknown, unknown>, input)]),
  ) as Scripts;
}
