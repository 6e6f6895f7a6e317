/**
 * The sandbox's registry of provider fakes. Each fake lives beside its adapter (`providers/<id>/sandbox.ts`,
 * so all a provider knows stays together) but only this file imports it: the adapters, the worker and the
 * API never load a fake server's code. Adding a provider: its `sandbox.ts` and its entry here.
 */
import { betterstackSandbox } from '../providers/betterstack/sandbox.ts';
import { closientSandbox } from '../providers/closient/sandbox.ts';
import type { ProviderId } from '../providers/index.ts';
import { stellasSandbox } from '../providers/stellas/sandbox.ts';
import { sutroSandbox } from '../providers/sutro/sandbox.ts';
import { unibeeSandbox } from '../providers/unibee/sandbox.ts';
import type { InviteFields } from '../types.ts';
import type { FakeAnswer, FakeHandler } from './server.ts';

/**
 * What the sandbox (`invitebus sandbox`, the demo, the tests) needs to stand in for the provider: a local fake
 * answering as its documentation says, and an account pointing at it.
 */
export interface ProviderSandbox<Invite extends InviteFields> {
  /** Environment variables the sandbox account reads its credentials from, with their values (not secrets). */
  env: Readonly<Record<string, string>>;
  /** The sandbox account's settings besides `provider` and `baseUrl`; credentials name the variables of `env`. */
  account: Readonly<Record<string, unknown>>;
  /** Fields the demo's invites carry besides the address (a role, ...). */
  exampleInvite: Readonly<Omit<Invite, 'email'>>;
  /** A fresh fake: `members` are already members; `rateLimited` is the provider's own rate-limit answer. */
  fake(options: { members: readonly string[] }): { handler: FakeHandler; rateLimited: () => FakeAnswer };
}

/** Every provider's fake, by provider id: one per registered adapter (a test checks it). */
export const fakes = {
  betterstack: betterstackSandbox,
  closient: closientSandbox,
  stellas: stellasSandbox,
  sutro: sutroSandbox,
  unibee: unibeeSandbox,
  // biome-ignore lint/suspicious/noExplicitAny: each fake has its own invite type
} satisfies Record<ProviderId, ProviderSandbox<any>>;

/** The fake of a provider id, typed loosely for code that handles every provider alike. */
export function fakeOf(id: string): ProviderSandbox<{ email: string; [k: string]: unknown }> {
  const fake = (fakes as Record<string, unknown>)[id];
  if (fake === undefined) throw new Error(`no sandbox fake for provider '${id}'`);
  return fake as ProviderSandbox<{ email: string; [k: string]: unknown }>;
}
