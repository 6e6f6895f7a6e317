/**
 * How long a provider asked us to wait, read from the rate-limit signals real APIs send.
 * Pure: takes the headers and the local clock, returns milliseconds.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed === '' ? undefined : trimmed;
}

const DELTA_SECONDS = /^\d+(\.\d+)?$/;

/**
 * `Retry-After`: delta-seconds or an HTTP-date. A date is compared with the response's own `Date` header
 * when present (the provider's clock against the provider's clock), so local clock skew does not matter.
 * A date in the past means "now" (0). Garbage yields undefined.
 */
export function parseRetryAfter(value: string | undefined, responseDate?: string, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (DELTA_SECONDS.test(v)) return Math.round(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined; // negative numbers and other non-dates
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  const reference = responseDate === undefined ? Number.NaN : Date.parse(responseDate);
  const base = Number.isNaN(reference) ? now : reference;
  return Math.max(0, at - base);
}

/**
 * `X-RateLimit-Reset`: providers disagree on its unit. Values that look like epoch milliseconds or epoch
 * seconds are taken as absolute times; small values are deltas in seconds.
 */
export function parseResetValue(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || !DELTA_SECONDS.test(value.trim())) return undefined;
  const n = Number(value);
  if (n >= 1e12) return Math.max(0, n - now); // epoch ms
  if (n >= 1e9) return Math.max(0, n * 1000 - now); // epoch seconds
  return Math.round(n * 1000); // delta seconds
}

/** IETF draft `RateLimit: "default";r=0;t=30` (and the older `limit=..., remaining=..., reset=...`). */
export function parseIetfRateLimit(value: string | undefined): { remaining?: number; resetMs?: number } | undefined {
  if (value === undefined) return undefined;
  const out: { remaining?: number; resetMs?: number } = {};
  for (const part of value.split(/[;,]/)) {
    const [rawKey, rawValue] = part.split('=');
    const key = rawKey?.trim().toLowerCase();
    const num = Number(rawValue?.trim());
    if (rawValue === undefined || !Number.isFinite(num) || num < 0) continue;
    if (key === 't' || key === 'reset') out.resetMs = Math.round(num * 1000);
    if (key === 'r' || key === 'remaining') out.remaining = num;
  }
  return out.remaining === undefined && out.resetMs === undefined ? undefined : out;
}

/**
 * The wait a rate-limited answer asks for, in precedence order: `Retry-After`, IETF `RateLimit` t=,
 * `RateLimit-Reset` (relative seconds), `X-RateLimit-Reset` (epoch s, epoch ms or delta).
 */
export function requestedWaitMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const retryAfter = parseRetryAfter(header(headers, 'retry-after'), header(headers, 'date'), now);
  if (retryAfter !== undefined) return retryAfter;
  const ietf = parseIetfRateLimit(header(headers, 'ratelimit'));
  if (ietf?.resetMs !== undefined) return ietf.resetMs;
  const reset = header(headers, 'ratelimit-reset');
  if (reset !== undefined && DELTA_SECONDS.test(reset)) return Math.round(Number(reset) * 1000);
  return parseResetValue(header(headers, 'x-ratelimit-reset'), now);
}

/** Remaining calls and time to reset on ordinary answers, when the provider sends them. */
export function paceFromHeaders(headers: HeaderBag, now = Date.now()): { remaining: number; resetMs: number } | undefined {
  const ietf = parseIetfRateLimit(header(headers, 'ratelimit'));
  const remainingRaw = header(headers, 'ratelimit-remaining') ?? header(headers, 'x-ratelimit-remaining');
  const remaining = ietf?.remaining ?? (remainingRaw !== undefined && DELTA_SECONDS.test(remainingRaw) ? Number(remainingRaw) : undefined);
  if (remaining === undefined) return undefined;
  const resetRaw = header(headers, 'ratelimit-reset');
  const resetMs =
    ietf?.resetMs ??
    (resetRaw !== undefined && DELTA_SECONDS.test(resetRaw) ? Math.round(Number(resetRaw) * 1000) : undefined) ??
    parseResetValue(header(headers, 'x-ratelimit-reset'), now);
  return resetMs === undefined ? undefined : { remaining, resetMs };
}

/** Applies the configured ceiling to a provider's requested wait; says whether it had to. */
export function capWait(waitMs: number, maxWaitMs: number): { waitMs: number; capped: boolean } {
  return waitMs > maxWaitMs ? { waitMs: maxWaitMs, capped: true } : { waitMs, capped: false };
}
