/**
 * The batch accounting: invitebus's own Redis scripts, one file each in this folder (shared parts in includes/,
 * pulled in with `--- @include "includes/NAME"`, as BullMQ does), loaded once and registered on a connection as
 * EVALSHA commands. Each file states at its top the keys it touches and the invariant it keeps.
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
 * An invite belongs to one batch at a time (its job names one); a failed invite is moved back (replay or
 * correction) at most once per failure (claim-replay). Every script is idempotent, so a crash or an outage
 * between two of them is repaired by running the same command again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

function load(name: string): string {
  const text = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
  return text.replace(/^--- @include "([^"]+)"$/gm, (_, include: string) => load(include));
}

/** Script name → number of keys (undefined: the caller passes it first, for scripts with one key per invite). */
const SCRIPTS = {
  enrollInvites: { file: 'enroll-invites', keys: undefined },
  recordTerminal: { file: 'record-terminal', keys: 7 },
  unrecordTerminal: { file: 'unrecord-terminal', keys: 4 },
  sealBatch: { file: 'seal-batch', keys: 3 },
  claimReplay: { file: 'claim-replay', keys: 1 },
  paceCall: { file: 'pace-call', keys: 4 },
  claimPause: { file: 'claim-pause', keys: 1 },
  markSeen: { file: 'mark-seen', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const sources = Object.fromEntries(Object.entries(SCRIPTS).map(([name, s]) => [name, load(s.file)])) as Record<ScriptName, string>;

/** The SHA1 a script is called by (EVALSHA): a test can recognise one on the wire. */
export function scriptSha(name: ScriptName): string {
  return createHash('sha1').update(sources[name]).digest('hex');
}

/** A connection's scripts, callable as `scripts(redis).recordTerminal(...keys, ...args)`. */
export type Scripts = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** Registers the scripts on a connection (once) and returns them. */
export function scripts(redis: Redis): Scripts {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, s] of Object.entries(SCRIPTS)) {
    const command = `ib_${name}`;
    if (commands[command] === undefined) {
      redis.defineCommand(command, { lua: sources[name as ScriptName], ...(s.keys === undefined ? {} : { numberOfKeys: s.keys }) });
    }
  }
  return Object.fromEntries(
    Object.keys(SCRIPTS).map((name) => [
      name,
      (...args: (string | number)[]) => (commands[`ib_${name}`] as (...a: unknown[]) => Promise<unknown>).apply(redis, args),
    ]),
  ) as Scripts;
}

/**
 * A writer of a batch (an enqueue or a replay) refreshes its heartbeat every chunk; one that stops (crash,
 * outage) holds its batch open this long after its last heartbeat, then a delayed check completes the batch.
 */
export const WRITER_HEARTBEAT_MS = 15_000;
