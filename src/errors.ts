/** Stable error codes; a user or a program can branch on `code`, never on the message. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'CREDENTIAL_MISSING'
  | 'UNKNOWN_ACCOUNT'
  | 'UNKNOWN_PROFILE'
  | 'UNKNOWN_WEBHOOK'
  | 'UNKNOWN_BATCH'
  | 'INVITE_INVALID'
  /** An input file (`--file`) that is not there, is a folder or cannot be read. */
  | 'FILE_UNREADABLE'
  | 'REDIS_UNAVAILABLE'
  | 'ENQUEUE_INTERRUPTED'
  /** The writes are on the primary, but fewer replicas than `redis.waitReplicas` asks confirmed them in time. */
  | 'NOT_REPLICATED'
  | 'INVALID_IDENTIFIER'
  | 'SHUTDOWN_TIMEOUT';

/** The one error class invitebus throws at its users. Messages say what to do. */
export class InvitebusError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InvitebusError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

/** Thrown by the processor for a transient failure so the backoff strategy can read the provider's wait. */
export class RetryableError extends Error {
  readonly waitMs: number | undefined;

  constructor(message: string, waitMs?: number) {
    super(message);
    this.name = 'RetryableError';
    this.waitMs = waitMs;
  }
}
