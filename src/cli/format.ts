/** The CLI's output, as pure functions of what the core returns: one place to read, one place to test. */
import type { FoundInvite } from '../invites/lookup.ts';
import type { AccountStats } from '../stats.ts';
import type { WebhookStatus } from '../webhooks/admin.ts';
import { CLAIM_IDLE_MS } from '../webhooks/fanout.ts';
import { terminalText } from './terminal-text.ts';

/** `find`: one line per invite of the person. */
export function formatFound(f: FoundInvite): string {
  const when = new Date(f.finishedAt ?? f.enqueuedAt ?? 0).toISOString();
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
  return terminalText(`${f.account}: ${f.state} (${detail}) ${f.finishedAt ? 'finished' : 'queued'} ${when}${f.message ? ` — ${f.message}` : ''}`);
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

/** `stats`: a header and one aligned line per account. */
export function formatStats(stats: readonly AccountStats[]): string[] {
  const n = (v: number, w: number) => String(v).padStart(w);
  return [
    'account                  provider     waiting  active delayed completed  failed  state',
    ...stats.map((s) => {
      const state = s.paused
        ? `paused (${s.pausedReason ?? 'operator'}${s.pausedMessage ? `: ${s.pausedMessage}` : ''})`
        : s.rateLimitWaitMs > 0
          ? `rate-limited ${(s.rateLimitWaitMs / 1000).toFixed(1)} s`
          : 'running';
      return `${s.account.padEnd(24)} ${s.provider.padEnd(12)} ${n(s.waiting, 7)} ${n(s.active, 7)} ${n(s.delayed, 7)} ${n(s.completed, 9)} ${n(s.failed, 7)}  ${state}`;
    }),
  ];
}
