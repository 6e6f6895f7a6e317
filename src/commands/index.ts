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
 * An invite belongs to one batch at a time (its job names one). An operator action (a replay, a correction)
 * moves a failed invite back in one script, move-failure: it forgets the recorded failure and moves the job
 * together, and only a failure recorded before the action began, so concurrent actions move it once and an
 * interrupted action has moved each failure or not. Every script is idempotent, so a crash or an outage between
 * two of them is repaired by running the same command again.
 *
 * TIME IS REDIS'S. Every deadline and heartbeat compared inside a script (writer heartbeats, batch completion,
 * when a failure was recorded, call slots) is read from Redis `TIME` inside the script (includes/redis-now);
 * clients pass durations, never their own clock, because a writer's or a worker's clock may be off by minutes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * BullMQ's own scripts that ours run inside themselves (`--- @bullmq "name"` defines `bullmq_<name>(KEYS, ARGV)`),
 * so that one of our transitions and BullMQ's move of the job are one atomic step.
 */
async function bullmqScripts(names: readonly string[]): Promise<Record<string, string>> {
  const dir = new URL('./scripts/', import.meta.resolve('bullmq'));
  const files = readdirSync(dir);
  const out: Record<string, string> = {};
  for (const name of names) {
    const file = files.find((f) => new RegExp(`^${name}-\\d+\\.js$`).test(f));
    if (file === undefined) throw new Error(`BullMQ's script ${name} was not found in ${dir.pathname}: this BullMQ version is not supported`);
    const module = (await import(new URL(file, dir).href)) as Record<string, { content?: string; [k: string]: unknown } | undefined>;
    // The CommonJS build (what `import 'bullmq'` resolves to) and the ES one export it alike.
    const content = module[name]?.content ?? (module.default?.[name] as { content?: string } | undefined)?.content;
    if (content === undefined) throw new Error(`BullMQ's script ${name} has no content`);
    out[name] = content;
  }
  return out;
}

const bullmq = await bullmqScripts(['reprocessJob']);

function load(name: string): string {
  const text = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
  return text
    .replace(/^--- @include "([^"]+)"$/gm, (_, include: string) => load(include))
    .replace(/^--- @bullmq "([^"]+)"$/gm, (_, script: string) => {
      const content = bullmq[script];
      if (content === undefined) throw new Error(`${name}.lua: BullMQ script ${script} not loaded`);
      // KEYS and ARGV are the function's parameters: BullMQ's text runs unchanged against the keys we pass it.
      return `local function bullmq_${script}(KEYS, ARGV)\n${content}\nend`;
    });
}

/** Script name → number of keys (undefined: the caller passes it first, for scripts with one key per invite). */
const SCRIPTS = {
  enrollInvites: { file: 'enroll-invites', keys: undefined },
  recordTerminal: { file: 'record-terminal', keys: 7 },
  unrecordTerminal: { file: 'unrecord-terminal', keys: 4 },
  moveFailure: { file: 'move-failure', keys: 15 },
  endAction: { file: 'end-action', keys: 1 },
  recountBatch: { file: 'recount-batch', keys: 5 },
  sealBatch: { file: 'seal-batch', keys: 3 },
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
