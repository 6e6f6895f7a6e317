import { z } from 'zod';
import { credentialRef } from '../../config/credentials.ts';
import { emailField } from '../../invites/fields.ts';
import type { Outcome } from '../../types.ts';
import { type AccountContext, commonOutcome, credential, isNetworkFailure, networkOutcome, type ProviderAdapter, type ProviderSession } from '../adapter.ts';
import { type HttpRequest, type HttpResponse, joinUrl, jsonBody } from '../http.ts';

/** Names used before "batch" got its one meaning (the invites of one enqueue): refused with the new name. */
const renamed = (to: string) => z.never({ error: `renamed to ${to} ("batch" means the invites of one enqueue)` }).optional();

const settingsSchema = z.object({
  /** Addresses combined into one call (the API takes several per call). */
  addressesPerCall: z.number().int().min(1).max(100).default(25),
  /** How long a call waits for more invites to fill it. */
  callLingerMs: z.number().int().min(0).max(1000).default(20),
  batchSize: renamed('addressesPerCall'),
  batchLingerMs: renamed('callLingerMs'),
  credentials: z.looseObject({
    token: credentialRef,
    /** Mutual TLS, when the API client is registered with a certificate: PEM files. */
    clientCert: credentialRef.optional(),
    clientKey: credentialRef.optional(),
    ca: credentialRef.optional(),
  }),
});
export type SutroSettings = z.infer<typeof settingsSchema>;

const inviteSchema = z.object({ email: emailField });
export type SutroInvite = z.infer<typeof inviteSchema>;

const answer = z.looseObject({ success: z.boolean().optional(), message: z.string().optional() });

export function inviteRequest(baseUrl: string, token: string, emails: readonly string[]): HttpRequest {
  return {
    method: 'POST',
    url: joinUrl(baseUrl, '/invitations'),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: jsonBody({ emailAddresses: emails }),
  };
}

/**
 * The outcome of a call for `count` addresses, or 'split' when the answer is about one unnamed address
 * among several (409 "one of them is a member", 400/422 "one of them is invalid") and each address must be
 * asked on its own to learn its true outcome.
 */
export function toOutcome(res: HttpResponse, count: number, now = Date.now()): Outcome | 'split' {
  const parsed = answer.safeParse(res.json);
  const message = (parsed.success ? parsed.data.message : undefined) ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
  const ref = { status: res.status, message };
  if (res.status >= 200 && res.status < 300 && !(parsed.success && parsed.data.success === false)) return { kind: 'invited', ...ref };
  if (count > 1 && (res.status === 409 || res.status === 400 || res.status === 422)) return 'split';
  if (res.status === 409) return { kind: 'already_member', ...ref };
  if (res.status === 401) return { kind: 'auth_failed', ...ref };
  return commonOutcome(res, ref, now) ?? { kind: 'rejected', ...ref };
}

/**
 * Each invite stays its own BullMQ job; the session gathers the invites of concurrent jobs into calls of up to
 * `addressesPerCall` and hands each job its own outcome. A call leaves when it is full, or after `callLingerMs`
 * and once the account's call slot opens (`callSlot`: the rate limit counts calls), so invites keep joining it
 * while it waits. A crash mid-call leaves every job of the call active; BullMQ's stalled check retries each.
 */
function createSutroSession(account: AccountContext<SutroSettings>): ProviderSession<SutroInvite> {
  const token = credential(account, 'token');
  const { addressesPerCall, callLingerMs } = account.settings;
  type Pending = { invite: SutroInvite; resolve: (o: Outcome) => void };
  const pending: Pending[] = [];
  let dispatching = false;
  /** Wakes the linger early once a call is full. */
  let full: (() => void) | undefined;
  /** The linger's timer, cleared by close(). */
  let lingerTimer: NodeJS.Timeout | undefined;
  let closed = false;

  async function call(emails: readonly string[], slotTaken = false): Promise<Outcome | 'split'> {
    if (!slotTaken) await account.callSlot?.();
    const res = await account.http.send(inviteRequest(account.baseUrl, token, emails));
    return isNetworkFailure(res) ? networkOutcome(res) : toOutcome(res, emails.length);
  }

  async function send(batch: Pending[], slotTaken = false): Promise<void> {
    const outcome = await call(
      batch.map((p) => p.invite.email),
      slotTaken,
    );
    if (outcome !== 'split') {
      // One outcome object for the whole call: the processor counts a 429 once per call by it, not once per address.
      for (const p of batch) p.resolve(outcome);
      return;
    }
    // One call per address resolves which of them the answer was about.
    await Promise.all(
      batch.map(async (p) => {
        const single = await call([p.invite.email]);
        p.resolve(single === 'split' ? { kind: 'retryable', message: 'unexpected split of a single address' } : single);
      }),
    );
  }

  /** Lingers until the next call is full or `callLingerMs` passed. */
  function linger(): Promise<void> {
    if (pending.length >= addressesPerCall) return Promise.resolve();
    return new Promise((resolve) => {
      lingerTimer = setTimeout(done, callLingerMs);
      function done() {
        clearTimeout(lingerTimer);
        lingerTimer = undefined;
        full = undefined;
        resolve();
      }
      full = done;
    });
  }

  /** One loop per session sends calls while invites wait; each call is sent without waiting for its answer. */
  async function dispatch(): Promise<void> {
    dispatching = true;
    try {
      while (pending.length > 0 && !closed) {
        await linger();
        if (closed) break;
        // The slot is taken right before the call is cut, so everything that arrived while waiting joins it.
        await account.callSlot?.();
        const batch = pending.splice(0, addressesPerCall);
        if (batch.length === 0) break; // close() settled them while the slot was awaited
        send(batch, true).catch((error: unknown) => {
          for (const p of batch) p.resolve({ kind: 'retryable', message: String(error) });
        });
      }
    } catch (error) {
      for (const p of pending.splice(0)) p.resolve({ kind: 'retryable', message: `call slot: ${String(error)}` });
    } finally {
      dispatching = false;
    }
  }

  return {
    deliver(invite) {
      if (closed) return Promise.resolve({ kind: 'retryable', message: 'the Sutro session is closed' });
      return new Promise<Outcome>((resolve) => {
        pending.push({ invite, resolve });
        if (pending.length >= addressesPerCall) full?.();
        if (!dispatching) void dispatch();
      });
    },
    /** Stops the linger timer; invites still waiting for a call were never sent and are retried. */
    close() {
      closed = true;
      full?.();
      for (const p of pending.splice(0)) p.resolve({ kind: 'retryable', message: 'the Sutro session closed before the call was sent' });
    },
  };
}

export const sutro = {
  id: 'sutro',
  // No base URL is published for the user-management API: every account must set one.
  defaultBaseUrl: undefined,
  settingsSchema,
  inviteSchema,
  listFields: [],
  secretHeaders: ['authorization'],
  // Its documentation names no request id: an answer is `{success, message}`.
  requestIdFrom: undefined,
  batching: { invitesPerCall: (settings) => settings.addressesPerCall },
  tls(credentials) {
    const { clientCert, clientKey, ca } = credentials;
    if (clientCert === undefined && clientKey === undefined && ca === undefined) return undefined;
    return { ...(clientCert ? { cert: clientCert } : {}), ...(clientKey ? { key: clientKey } : {}), ...(ca ? { ca } : {}) };
  },
  createSession: createSutroSession,
} satisfies ProviderAdapter<SutroSettings, SutroInvite>;
