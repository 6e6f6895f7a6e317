import type { BatchCheck } from '../batch-check.ts';
/** The console's sections, each a fragment the page script can fetch again when events arrive. */
import type { BatchStatus } from '../batches.ts';
import { emailField } from '../invites/fields.ts';
import type { FoundInvite } from '../invites/lookup.ts';
import type { PersonRow } from '../onboarding/people.ts';
import type { AccountView, FailureGroup } from './data.ts';
import { esc, progress, sparkline, when } from './html.ts';

export function accountsSection(accounts: readonly AccountView[], canWrite: boolean): string {
  const rows = accounts.map((a) => {
    const state = a.paused
      ? `<span class="state paused">paused</span> ${esc(a.pausedReason ?? '')} ${a.pausedSince ? `since ${when(a.pausedSince)}` : ''}`
      : a.rateLimitWaitMs > 0
        ? `<span class="state waiting">rate-limited</span> until ${when(Date.now() + a.rateLimitWaitMs)}`
        : '<span class="state running">running</span>';
    const lastHour = a.perMinute.reduce((sum, n) => sum + n, 0);
    const button = !canWrite
      ? ''
      : a.paused
        ? `<button data-action="resume" data-account="${esc(a.account)}">Resume</button>`
        : `<button data-action="pause" data-account="${esc(a.account)}">Pause</button>`;
    return `<tr data-account="${esc(a.account)}"><th scope="row">${esc(a.account)}</th><td>${esc(a.provider)}</td><td class="state-cell">${state}</td>
<td class="num">${a.waiting}</td><td class="num">${a.active}</td><td class="num">${a.failed}</td>
<td>${sparkline(a.perMinute)} <span class="num">${lastHour} in the last hour</span></td><td>${esc(a.paced ?? '')}${a.limit ? ` <small>of ${esc(a.limit)}</small>` : '<small>no limit</small>'}</td><td>${button}</td></tr>`;
  });
  return `<section id="accounts" data-fragment="accounts"><h2>Accounts</h2><table><thead><tr><th>account</th><th>provider</th><th>state</th><th>waiting</th><th>active</th><th>failed</th><th>finished per minute, last hour</th><th>paced / limit</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** Invites that failed and rows refused at intake: what someone has to look at. */
function attention(b: BatchStatus): string {
  const n = b.failed + b.refused;
  return n > 0 ? `${n} need attention` : '';
}

export function batchesSection(batches: readonly BatchStatus[]): string {
  if (batches.length === 0) return '<section id="batches" data-fragment="batches"><h2>Onboardings</h2><p class="empty">Nothing enqueued yet.</p></section>';
  const rows = batches.map((b) => {
    const outcomes = Object.entries(b.outcomes)
      .map(([k, v]) => `<span class="tag ${esc(k)}">${esc(k)} ${v}</span>`)
      .join(' ');
    return `<tr data-batch="${esc(b.batchId)}"><th scope="row"><a href="/console/batches/${encodeURIComponent(b.batchId)}">${esc(b.batchId)}</a></th><td>${when(b.createdAt)}</td>
<td class="progress">${progress(b.done, b.total, b.failed)} <span class="count">${b.done}/${b.total}</span></td><td>${outcomes}</td>
<td class="num attention">${attention(b)}</td><td>${b.complete ? '<span class="state running">done</span>' : ''}</td></tr>`;
  });
  return `<section id="batches" data-fragment="batches"><h2>Onboardings</h2><table><thead><tr><th>onboarding</th><th>started</th><th>progress</th><th>outcomes</th><th></th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

export function failuresSection(groups: readonly FailureGroup[], canWrite: boolean): string {
  if (groups.length === 0) return '<section id="failures" data-fragment="failures"><h2>Failures</h2><p class="empty">No failed invites.</p></section>';
  const rows = groups.map(
    (g) => `<tr><th scope="row">${esc(g.account)}</th><td><span class="tag failed">${esc(g.reason)}</span></td><td class="num">${g.count}</td>
<td class="message">${esc(g.message)}</td><td>${when(g.lastAt)}</td>
<td>${canWrite ? `<button data-action="replay" data-account="${esc(g.account)}" data-reason="${esc(g.reason)}">Replay these…</button>` : ''}</td></tr>`,
  );
  return `<section id="failures" data-fragment="failures"><h2>Failures</h2><table><thead><tr><th>account</th><th>reason</th><th>invites</th><th>provider's message (latest)</th><th>last</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** A warning when a batch's counters or results disagree with its jobs (src/batch-check.ts); nothing when they agree. */
export function driftNotice(check: BatchCheck | undefined): string {
  if (check === undefined || (check.drift.length === 0 && check.stranded.length === 0)) return '';
  const items = [
    ...check.drift.map((d) => `<li>${esc(d.field)}: shows ${d.stored}, the jobs say ${d.expected}</li>`),
    ...check.stranded.map((s) => `<li>${esc(s.ref)}: ${esc(s.state)}, its result was never recorded</li>`),
  ].join('');
  return `<section class="drift error" role="alert"><h2>These numbers have drifted from the jobs</h2><ul>${items}</ul>
<p>Repair them (safe to repeat): <code>invitebus batches check ${esc(check.batchId)} --repair</code>, or <code>POST /v1/batches/${esc(
    encodeURIComponent(check.batchId),
  )}/repair</code>.</p></section>`;
}

export function batchPage(
  status: BatchStatus,
  people: { accounts: string[]; people: PersonRow[] },
  filter: { summary?: string; q?: string },
  check?: BatchCheck,
): string {
  const shown = people.people.filter(
    (p) => (!filter.summary || p.summary === filter.summary) && (!filter.q || p.email.toLowerCase().includes(filter.q.toLowerCase())),
  );
  const perAccount = Object.entries(status.accounts)
    .map(([name, a]) => `<li><strong>${esc(name)}</strong> ${progress(a.done, a.total, a.failed)} ${a.done}/${a.total}</li>`)
    .join('');
  const options = ['', 'done', 'needs attention', 'in progress']
    .map((s) => `<option value="${esc(s)}"${filter.summary === s ? ' selected' : ''}>${s || 'everyone'}</option>`)
    .join('');
  const head = people.accounts.map((a) => `<th>${esc(a)}</th>`).join('');
  const rows = shown
    .map(
      (p) =>
        `<tr class="${p.summary === 'needs attention' ? 'attention' : ''}"><th scope="row">${
          emailField.safeParse(p.email).success ? `<a href="/console/people?email=${encodeURIComponent(p.email)}">${esc(p.email)}</a>` : esc(p.email)
        }</th>${people.accounts.map((a) => `<td class="cell">${esc(p.accounts[a] ?? '')}</td>`).join('')}<td>${esc(p.summary)}</td></tr>`,
    )
    .join('');
  return `<h1>Onboarding ${esc(status.batchId)}</h1>${driftNotice(check)}
<section id="batch-progress" data-fragment="batch/${encodeURIComponent(status.batchId)}/progress">${batchProgress(status)}</section>
<ul class="per-account">${perAccount}</ul>
<form class="filters" method="get"><label>show <select name="summary">${options}</select></label><label>address contains <input name="q" value="${esc(filter.q ?? '')}"></label><button type="submit">Filter</button>
<a class="button" href="/v1/onboardings/${encodeURIComponent(status.batchId)}/people?format=csv">Export CSV</a></form>
<table class="people"><thead><tr><th>person</th>${head}<th>summary</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">${shown.length} of ${people.people.length} people</p>`;
}

export function batchProgress(status: BatchStatus): string {
  const finished = status.complete
    ? status.failed > 0
      ? `<span class="state paused">finished: ${status.succeeded} succeeded, ${status.failed} failed</span>`
      : '<span class="state running">done</span>'
    : '<span class="state waiting">in progress</span>';
  const notQueued =
    status.refused + status.duplicates > 0
      ? ` <span class="muted">not queued: ${status.refused} refused at intake, ${status.duplicates} duplicates</span>`
      : '';
  const again = status.alreadyInBatch > 0 ? ` <span class="muted">${status.alreadyInBatch} rows already in this batch (reruns)</span>` : '';
  return `<p class="big">${progress(status.done, status.total, status.failed)} <span class="count">${status.done}/${status.total}</span> ${finished}${notQueued}${again}</p>`;
}

export function personPage(email: string, invites: readonly FoundInvite[]): string {
  if (invites.length === 0)
    return `<h1>${esc(email)}</h1><p class="empty">No invite of ${esc(email)} in any account (never queued, or removed after retention).</p>`;
  const rows = invites
    .map(
      (
        i,
      ) => `<tr><th scope="row">${esc(i.account)}</th><td>${esc(i.state)}</td><td>${esc(i.outcome)}${i.reason && i.reason !== i.outcome ? ` <span class="tag failed">${esc(i.reason)}</span>` : ''}</td>
<td class="num">${i.attempts}</td><td>${esc(i.status)}</td><td>${esc(i.requestId)}</td><td>${when(i.enqueuedAt)}</td><td>${when(i.finishedAt)}</td><td class="message">${esc(i.message)}</td></tr>`,
    )
    .join('');
  return `<h1>${esc(email)}</h1><table class="person"><thead><tr><th>account</th><th>state</th><th>outcome</th><th>attempts</th><th>HTTP</th><th>provider request id</th><th>queued</th><th>finished</th><th>provider's answer</th></tr></thead><tbody>${rows}</tbody></table>`;
}
