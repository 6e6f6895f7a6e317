import type { z } from 'zod';
import { InvitebusError } from '../errors.ts';
import { requestedWaitMs } from '../policies/rate-limit-headers.ts';
import type { InviteFields, Outcome, ProviderRef } from '../types.ts';
import type { HttpClient, HttpRequest, HttpResponse, HttpResult, NetworkFailure, TlsOptions } from './http.ts';

/** What an adapter's session gets to work with for one account. Credentials are resolved secrets: never log. */
export interface AccountContext<Settings> {
  name: string;
  baseUrl: string;
  settings: Settings;
  credentials: Readonly<Record<string, string>>;
  http: HttpClient;
  /**
   * For providers whose calls carry several invites: resolves when the account may make its next call (its
   * `rateLimit` counts calls, shared by every worker process; a queue-wide hold stops every call). Absent in
   * tests and for single-invite providers, whose pace BullMQ's limiter sets.
   */
  callSlot?: () => Promise<void>;
}

/** A live connection to one account: holds per-process state such as a sign-in token or a call being filled. */
export interface ProviderSession<Invite extends InviteFields> {
  /** Delivers one invite and returns its outcome. Never throws for provider answers. */
  deliver(invite: Invite): Promise<Outcome>;
  /** Releases timers and settles invites still waiting; called once the account's worker has stopped. */
  close(): void;
  /**
   * Checks invite fields against what only the live provider knows (Stellas: role names against the business's
   * role list), for profiles at worker start. Returns one problem per refused field; rejects when the provider
   * cannot answer now (a 429, an outage: not a problem of the profile). Absent when schemas suffice.
   */
  verifyFields?(fields: Readonly<Record<string, unknown>>): Promise<string[]>;
}

/** A provider whose API takes several invites per call: its session gathers concurrent deliveries into calls. */
export interface Batching<Settings> {
  /** How many invites one call carries for this account. */
  invitesPerCall(settings: Settings): number;
}

/**
 * Everything invitebus knows about one provider. One folder per provider (`src/providers/<id>/`) implements
 * this; `src/providers/index.ts` registers it.
 */
export interface ProviderAdapter<Settings = unknown, Invite extends InviteFields = InviteFields> {
  readonly id: string;
  /** Used when the account sets no baseUrl; undefined means the account must set one. */
  readonly defaultBaseUrl: string | undefined;
  /** Provider-specific account fields, including which credentials must be present. */
  readonly settingsSchema: z.ZodType<Settings>;
  /** One invite's fields: email plus provider fields (role, ...). Validated before anything is queued. */
  readonly inviteSchema: z.ZodType<Invite>;
  /** Invite fields a CSV cell gives as a list ("1;2", "1|2" or "1 2"). */
  readonly listFields: readonly string[];
  /** Request headers carrying this provider's secrets: redacted from every log line. */
  readonly secretHeaders: readonly string[];
  /**
   * Where this provider's answers carry an id of the request for its support (kept as the outcome's `requestId`),
   * as its documentation says; undefined when it documents none (the console then says so instead of a blank).
   */
  readonly requestIdFrom: string | undefined;
  /** Present when one call carries several invites; absent, every call carries one. */
  readonly batching?: Batching<Settings>;
  /**
   * True when its sessions check profile fields against the live provider (`ProviderSession.verifyFields`): a worker
   * starts such an account's session at start-up when a profile names the account, idle or not.
   */
  readonly verifiesFields?: boolean;
  /** TLS material for the account's HTTP client (mutual TLS), from its resolved credentials. */
  tls?(credentials: Readonly<Record<string, string>>): TlsOptions | undefined;
  /** Throws CREDENTIAL_MISSING when a credential the session needs is absent (see `credential`). */
  createSession(account: AccountContext<Settings>): ProviderSession<Invite>;
}

/**
 * A resolved credential, or a start-up error naming the account and the credential: a session never sends
 * an empty header.
 */
export function credential(account: Pick<AccountContext<unknown>, 'name' | 'credentials'>, name: string): string {
  const value = account.credentials[name];
  if (value === undefined || value === '') {
    throw new InvitebusError(
      'CREDENTIAL_MISSING',
      `account '${account.name}' has no credentials.${name}: set it in the account's credentials ({ "env": "NAME" } or { "file": "/path" })`,
    );
  }
  return value;
}

/** Shared mapping for answers that never reached the provider. */
export function networkOutcome(failure: NetworkFailure): Outcome {
  return { kind: 'retryable', message: `${failure.code}: ${failure.message}` };
}

export function isNetworkFailure(result: HttpResult): result is NetworkFailure {
  return result.status === undefined;
}

/** Shared mapping for status classes every provider treats alike: 429 and 5xx. */
export function commonOutcome(res: HttpResponse, ref: ProviderRef, now = Date.now()): Outcome | undefined {
  if (res.status === 429) {
    const waitMs = requestedWaitMs(res.headers, now);
    return { kind: 'rate_limited', ...ref, ...(waitMs === undefined ? {} : { waitMs }) };
  }
  if (res.status >= 500) {
    const waitMs = res.status === 503 ? requestedWaitMs(res.headers, now) : undefined;
    return {
      kind: 'retryable',
      ...ref,
      message: ref.message ?? `HTTP ${res.status}`,
      ...(waitMs === undefined ? {} : { waitMs }),
    };
  }
  return undefined;
}

/**
 * A session for providers that take one invite per call with static credentials: build the request,
 * send it, map the answer. Providers with sign-in or batching write their own session.
 */
export function singleCallSession<Settings, Invite extends InviteFields>(
  account: AccountContext<Settings>,
  build: (account: AccountContext<Settings>, invite: Invite) => HttpRequest,
  map: (result: HttpResponse, invite: Invite) => Outcome,
): ProviderSession<Invite> {
  return {
    async deliver(invite) {
      const result = await account.http.send(build(account, invite));
      return isNetworkFailure(result) ? networkOutcome(result) : map(result, invite);
    },
    close() {},
  };
}

/** A message a provider put in its body, as a string, or undefined. */
export function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join('; ') || undefined;
  return undefined;
}
