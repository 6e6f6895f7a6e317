/**
 * How a script is loaded and called: a wrapper (one beside each `.lua`) declares its file, how many KEYS it takes
 * and how named fields become KEYS and ARGV; `runScript` registers it on a connection (EVALSHA, once) and calls it.
 * Shared parts come from includes/ (`--- @include "includes/NAME"`, as BullMQ does) and BullMQ's own scripts
 * (`--- @bullmq "name"`).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from '../redis-connection/factory.ts';

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

const bullmq = await bullmqScripts(['reprocessJob', 'changeDelay', 'removeJob']);

/** A script's text with its includes resolved, as sent to Redis. */
export function loadScript(name: string): string {
  const text = readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8');
  return text
    .replace(/^--- @include "([^"]+)"$/gm, (_, include: string) => loadScript(include))
    .replace(/^--- @bullmq "([^"]+)"$/gm, (_, script: string) => {
      const content = bullmq[script];
      if (content === undefined) throw new Error(`${name}.lua: BullMQ script ${script} not loaded`);
      // KEYS and ARGV are the function's parameters: BullMQ's text runs unchanged against the keys we pass it.
      return `local function bullmq_${script}(KEYS, ARGV)\n${content}\nend`;
    });
}

/** What a wrapper hands to Redis: the KEYS and the ARGV, in the script's order. */
export interface ScriptCall {
  keys: string[];
  args: string[];
}

/** One script: its file, its KEYS count, and the only place that knows its KEYS/ARGV order and its result's shape. */
export interface ScriptDef<In, Out> {
  /** The `.lua` file beside it, without extension. */
  file: string;
  /** How many KEYS it takes; 'variable' for a script with fixed keys then one per item (enroll-invites). */
  keys: number | 'variable';
  /** Named fields → KEYS and ARGV. */
  encode(input: In): ScriptCall;
  /** Redis's reply → the typed result. */
  decode(reply: unknown): Out;
}

/** Declares a script (identity: it only gives the compiler the input and output types). */
export function defineScript<In, Out>(def: ScriptDef<In, Out>): ScriptDef<In, Out> {
  return def;
}

const sources = new Map<string, string>();

/** The script's text, loaded once. */
export function scriptSource(def: ScriptDef<never, unknown>): string {
  let source = sources.get(def.file);
  if (source === undefined) {
    source = loadScript(def.file);
    sources.set(def.file, source);
  }
  return source;
}

/** The SHA1 a script is called by (EVALSHA): a test can recognise one on the wire. */
export function sha(def: ScriptDef<never, unknown>): string {
  return createHash('sha1').update(scriptSource(def)).digest('hex');
}

/** Calls a script on a connection (registered there on first use; then EVALSHA, not the whole text each time). */
/**
 * Registers a script on a connection, once. Called for every script when a connection's scripts are first asked
 * for: defining a command while an auto-pipelined batch is pending left a pipelined callback without its result
 * (an uncaught TypeError inside ioredis). A fixed key count is declared (numberOfKeys); a variable one is passed
 * first in the arguments.
 */
export function registerScript(redis: RedisClient, def: ScriptDef<never, unknown>): void {
  const command = `ib_${def.file.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}`;
  if ((redis as unknown as Record<string, unknown>)[command] !== undefined) return;
  redis.defineCommand(command, { lua: scriptSource(def), ...(def.keys === 'variable' ? {} : { numberOfKeys: def.keys }) });
}

export async function runScript<In, Out>(redis: RedisClient, def: ScriptDef<In, Out>, input: In): Promise<Out> {
  const { keys, args } = def.encode(input);
  if (def.keys !== 'variable' && keys.length !== def.keys) {
    throw new Error(`${def.file}.lua takes ${def.keys} keys; its wrapper built ${keys.length}`);
  }
  // The same command names as before the wrappers: `ib_recordTerminal`, ...
  const command = `ib_${def.file.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}`;
  const commands = redis as unknown as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>;
  const fixed = def.keys !== 'variable';
  registerScript(redis, def as ScriptDef<never, unknown>);
  const call = commands[command] as (...a: unknown[]) => Promise<unknown>;
  return def.decode(await call.apply(redis, fixed ? [...keys, ...args] : [keys.length, ...keys, ...args]));
}
