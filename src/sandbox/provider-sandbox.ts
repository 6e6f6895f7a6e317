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
