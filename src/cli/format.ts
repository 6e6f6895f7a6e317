/** The CLI's output, as pure functions of what the core returns: one place to read, one place to test. */
import type { FoundInvite } from '../invites/lookup.ts';
import { pacedRateWords, wordsText } from '../paced-rate.ts';
import type { AccountStats } from '../stats.ts';
import type { WebhookStatus } from '../webhooks/admin.ts';
import { CLAIM_IDLE_MS } from '../webhooks/fanout.ts';
import { terminalText } from './terminal-text.ts';

/** `find`: one line per invite of the person. */
export function formatFound(f: FoundInvite): string {
  const when = new Date(f.finishedAt ?? f.enqueuedAt ?? 0).toISOString();
  // A withdrawn hire's invite: never sent, so no outcome, attempts or provider answer to show.
  if (f.state === 'cancelled') return terminalText(`${f.account}: cancelled ${when} — ${f.message}${personText(f)}`);
  // The outcome when there is one: a waiting invite is said once ("waiting (attempts 0)"), not twice.
  const detail = [
    f.outcome,
    f.reason && `reason ${f.reason}`,
    `attempts ${f.attempts}`,
    f.status && `HTTP ${f.status}`,
    f.requestId && `request ${f.requestId}`,
  ]
    .filter(Boolean)
    .join(', ');
  return terminalText(
    `${f.account}: ${f.state} (${detail}) ${f.finishedAt ? 'finished' : 'queued'} ${when}${f.message ? ` — ${f.message}` : ''}${personText(f)}`,
  );
}

/** The person an invite is for, as `find` ends its line: " [Ada Lovelace, externalId E-1042]", or nothing. */
function personText(f: FoundInvite): string {
  const name = [f.firstName, f.lastName].filter(Boolean).join(' ');
  const parts = [name, f.externalId && `externalId ${f.externalId}`].filter(Boolean);
  return parts.length === 0 ? '' : ` [${parts.join(', ')}]`;
}

/** `webhooks list`: one line per endpoint, its health first. */
export function formatWebhook(w: WebhookStatus): string {
  const health = w.disabled
    ? `DISABLED since ${new Date(w.disabledAt ?? 0).toISOString()}`
    : w.failingSince
      ? `failing since ${new Date(w.failingSince).toISOString()}`
      : w.notStarted > 0
        ? `failing: ${w.notStarted} deliveries could not be started (Redis refused them; see the worker log), retried every ${CLAIM_IDLE_MS / 1000} s`
        : 'ok';
  return terminalText(
    `${w.name}: ${w.url} (${w.events.join(', ')}) ${health}; last answer ${w.lastStatus ?? '-'}; waiting ${w.waiting}, delayed ${w.delayed}, failed ${w.failed}, delivered ${w.completed}, not yet delivered or queued ${w.pending}`,
  );
}

/** A moment on this machine's clock: "14:02" today, "2026-03-02 14:02" another day. */
export function localClock(ms: number, now = Date.now()): string {
  const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const d = new Date(ms);
  const clock = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return day(d) === day(new Date(now)) ? clock : `${day(d)} ${clock}`;
}

/**
 * `stats`: a header and one aligned line per account; under an account whose paced rate is below its limit or
 * moved, its rate in words ("  rate 0.5/s (limit 2/s) — slowed after a 429 at 14:02, back to 2/s around 14:07").
 */
export function formatStats(stats: readonly AccountStats[], now = Date.now(), time: (ms: number) => string = (ms) => localClock(ms, now)): string[] {
  const n = (v: number, w: number) => String(v).padStart(w);
  return [
    'account                  provider     waiting  active delayed completed  failed  state',
    ...stats.flatMap((s) => {
      const state = s.paused
        ? `paused (${s.pausedReason ?? 'operator'}${s.pausedMessage ? `: ${s.pausedMessage}` : ''})`
        : s.rateLimitWaitMs > 0
          ? `rate-limited ${(s.rateLimitWaitMs / 1000).toFixed(1)} s`
          : 'running';
      const line = `${s.account.padEnd(24)} ${s.provider.padEnd(12)} ${n(s.waiting, 7)} ${n(s.active, 7)} ${n(s.delayed, 7)} ${n(s.completed, 9)} ${n(s.failed, 7)}  ${state}`;
      const p = s.pacing;
      if (p === undefined || (p.lowered === undefined && p.rate >= p.limit)) return [line];
      return [line, terminalText(`  rate ${wordsText(pacedRateWords(p, now), time)}`)];
    }),
  ];
}

/** A rate in calls per second, short: 2, 0.5, 0.33. */
const perSecond = (rate: number) => `${Number(rate.toFixed(2))}/s`;

/**
 * `accounts`: what an account is doing, in words. From Redis alone (whether a worker process serves it cannot
 * be seen from here): removed (its invites still waiting), paused and why, held by a rate limit until when,
 * sending, waiting, delayed (scheduled or retrying), idle.
 */
export function accountState(s: AccountStats, now = Date.now()): string {
  if (s.removed) return `removed (${s.waiting + s.delayed} waiting)`;
  if (s.paused) return `paused (${s.pausedReason ?? 'operator'}${s.pausedMessage ? `: ${s.pausedMessage}` : ''})`;
  if (s.rateLimitWaitMs > 0) return `held by a rate limit until ${new Date(now + s.rateLimitWaitMs).toISOString().slice(11, 19)} UTC`;
  if (s.active > 0) return 'sending';
  if (s.waiting > 0) return 'waiting';
  if (s.delayed > 0) return 'delayed (scheduled or retrying)';
  return 'idle';
}

/** `accounts`: the paced rate against the configured limit ("0.5/s of 2/s" after a 429), or "-" without a limit. */
export function accountRate(s: AccountStats): string {
  if (s.rateLimit === undefined) return '-';
  const limit = (s.rateLimit.max * 1000) / s.rateLimit.durationMs;
  const limitText = s.rateLimit.durationMs === 1000 ? perSecond(limit) : `${s.rateLimit.max} / ${s.rateLimit.durationMs / 1000} s`;
  return s.pacedRate !== undefined && s.pacedRate < limit * 0.995 ? `${perSecond(s.pacedRate)} of ${limitText}` : limitText;
}

/** `accounts`: a header and one aligned row per account, its state first. */
export function formatAccounts(stats: readonly AccountStats[], now = Date.now()): string[] {
  const header = ['account', 'provider', 'state', 'rate', 'waiting', 'active', 'delayed', 'failed'];
  const rows = stats.map((s) => [s.account, s.provider, accountState(s, now), accountRate(s), ...[s.waiting, s.active, s.delayed, s.failed].map(String)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  // Names and words left, counts right.
  const line = (cells: string[]) =>
    terminalText(
      cells
        .map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
        .join('  ')
        .trimEnd(),
    );
  return [line(header), ...rows.map(line)];
}
