/**
 * Glossary
 * - invite:   one person (an email address) to be invited into one account. One invite = one BullMQ job.
 * - account:  one configured tenant at one provider (e.g. "acme-uptime" at Better Stack), with its own
 *             credentials, rate limit and queue. Accounts are the unit of pausing and rate limiting.
 * - provider: the SaaS whose invite API is called (betterstack, stellas, unibee, closient, sutro).
 * - batch:    the invites enqueued together by one `inviteMany` call; they share a batch id.
 * - outcome:  what a provider's answer means, as a discriminated union (see `Outcome`).
 * - person:   who an invite is for beyond the address: the HR system's `externalId`, `firstName`, `lastName`
 *             (job data `person`), kept with each invite of the person for results to be matched back.
 * - attempt:  one try of a job. Rate-limited tries do not spend attempts; retryable failures do.
 */
import type { Person } from './invites/person.ts';

/** Why an invite failed, coarse enough to filter replays on. */
export const REASON_CLASSES = ['rejected', 'retries_exhausted', 'rate_limited_exhausted', 'stalled', 'auth_failed', 'account_blocked'] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

/** The reasons a replay can filter on: the classes a failed job can carry (the account-level ones pause instead). */
export const REPLAYABLE_REASONS = ['rejected', 'retries_exhausted', 'rate_limited_exhausted', 'stalled'] as const satisfies readonly ReasonClass[];

/** Identifiers a provider gives back that support may ask for. */
export interface ProviderRef {
  /** HTTP status of the answer that decided the outcome (absent for network errors). */
  status?: number;
  /** The provider's own request id (UniBee `requestId`, ...). */
  requestId?: string;
  /** The id of the invitation or membership the provider created or found. */
  providerId?: string;
  /** The provider's message, as sent. */
  message?: string;
  /** Remaining calls and time to reset, when the answer carried them (Closient): the queue holds at 0. */
  pace?: Pace;
}

/** What one provider answer means for one invite. Adapters return these; only the processor acts on them. */
export type Outcome =
  | ({ kind: 'invited' } & ProviderRef)
  | ({ kind: 'already_member' } & ProviderRef)
  /** Cannot succeed by retrying: bad address, role not allowed, ... */
  | ({ kind: 'rejected'; message: string; fields?: string[] } & ProviderRef)
  /** The provider asked us to slow down; `waitMs` is its requested wait when it gave one. */
  | ({ kind: 'rate_limited'; waitMs?: number; capped?: boolean } & ProviderRef)
  /** Transient: 5xx, timeout, connection error. `waitMs` from a 503 Retry-After. */
  | ({ kind: 'retryable'; message: string; waitMs?: number } & ProviderRef)
  /** Credentials refused (401, read-only token): every later call of the account would fail too. */
  | ({ kind: 'auth_failed'; message: string } & ProviderRef)
  /** An account-level condition (spent quota, account misconfigured at the provider). */
  | ({ kind: 'account_blocked'; reason: 'quota' | 'config'; message: string } & ProviderRef);

export type OutcomeKind = Outcome['kind'];

/** Pace information a provider sends on ordinary answers (Closient's RateLimit-* headers). */
export interface Pace {
  remaining: number;
  resetMs: number;
}

/** The invite as stored in a job: validated and normalised by the provider's invite schema. */
export interface InviteFields {
  email: string;
  [field: string]: unknown;
}

/** Job data. Never holds a credential. */
export interface InviteJobData {
  account: string;
  provider: string;
  invite: InviteFields;
  /**
   * Who the invite is for beyond the address (src/invites/person.ts): the HR system's id and the names, for
   * events, reports and `find`; never sent unless the provider's own invite fields take them. Absent in jobs
   * queued before invitebus kept it, and for people given none.
   */
  person?: Person;
  batchId?: string;
  /** Epoch ms when the invite was accepted by the producer. */
  enqueuedAt: number;
  /**
   * Epoch ms the invite is scheduled for (a start date and its profile's inviteAt, src/onboarding/schedule.ts):
   * the job waits as a BullMQ delayed job until then. Absent: sent as soon as a worker takes it.
   */
  scheduledFor?: number;
  /** The person's time zone (IANA), to show `scheduledFor` as their wall clock. */
  timeZone?: string;
}

/** Return value of a completed job. */
export interface InviteResult {
  outcome: Extract<Outcome, { kind: 'invited' | 'already_member' }>;
  finishedAt: number;
}

/** Which failed invites to replay. Every field narrows; none means every failed invite. */
export interface ReplayFilter {
  accounts?: string[];
  batchId?: string;
  reason?: ReasonClass;
  /** Only invites that failed within this many ms. */
  sinceMs?: number;
}
