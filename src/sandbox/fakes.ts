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
import type { ProviderSandbox } from './provider-sandbox.ts';

export type { ProviderSandbox } from './provider-sandbox.ts';

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
