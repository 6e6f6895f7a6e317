/** The console's sections, each a fragment the page script can fetch again when events arrive. */
import type { BatchCheck } from '../batch-check.ts';
import type { BatchStatus } from '../batches.ts';
import { emailField } from '../invites/fields.ts';
import type { FoundInvite } from '../invites/lookup.ts';
import { type Person, nameOf as personName } from '../invites/person.ts';
import { type PersonRow, WHOLE_ROW } from '../onboarding/people.ts';
import { type PacedRate, pacedRateWords } from '../paced-rate.ts';
import type { AccountView, Attention, BatchRow, DuplicateRow, FailureGroup } from './data.ts';
import { clock, esc, plural, progress, sparkline, when } from './html.ts';

/** What the paced rate column means (its header's tooltip and the legend under the table). */
export const PACED_NOTE =
  "paced rate: how fast this account's calls go out now, against its configured limit, which it never exceeds. " +
  'A 429 (too many requests) lowers it to just above what was succeeding; RateLimit-Remaining / Reset lower it before a 429; ' +
  'it climbs back to the limit while calls succeed. Accounts whose calls carry several invites stay at their limit.';

/** An account's paced rate in words, its times as `<time>` in the viewer's zone: "0.5/s (limit 2/s) — slowed after a 429 at 14:02, …". */
export function pacedRateCell(p: PacedRate | undefined, now = Date.now()): string {
  if (p === undefined) return '<small>no limit</small>';
  return pacedRateWords(p, now)
    .map((w) => (typeof w === 'string' ? esc(w) : clock(w.at)))
    .join('');
}

/** Said in place of a blank request id when the account's provider documents none. */
export const NO_REQUEST_ID = 'this provider gives no request id';

/** The name of a person: from their names (report lines and rows carry them), else from "Name <address>" as the intake log gives it. */
function nameOf(who: string | undefined, person: Person | undefined): string | undefined {
  const given = personName(person);
  if (given !== undefined) return given;
  const named = /^(.+?)\s*<[^>]*>$/.exec(who ?? '')?.[1]?.trim();
  return named || undefined;
}

/**
 * A person as the console names them: "Ada Lovelace <ada@example.com>" (the address linked to their invites when
 * it is one) and the HR system's id, when known; the address alone otherwise.
 */
export function personLabel(email: string, named: { who?: string | undefined } & Person = {}): string {
  const address = emailField.safeParse(email).success ? `<a href="/console/people?email=${encodeURIComponent(email)}">${esc(email)}</a>` : esc(email);
  const name = nameOf(named.who, named);
  const id = named.externalId;
  return `${name ? `${esc(name)} &lt;${address}&gt;` : address}${id ? ` <span class="ext" title="the HR system's id">${esc(id)}</span>` : ''}`;
}

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
<td>${sparkline(a.perMinute)} <span class="num">${lastHour} in the last hour</span></td><td class="paced">${pacedRateCell(a.pacing)}</td><td>${button}</td></tr>`;
  });
  return `<section id="accounts" data-fragment="accounts"><h2>Accounts</h2><table><thead><tr><th>account</th><th>provider</th><th>state</th><th>waiting</th><th>active</th><th>failed</th><th>finished per minute, last hour</th><th title="${esc(PACED_NOTE)}">paced rate</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="legend muted">${esc(PACED_NOTE)}</p></section>`;
}

/**
 * Who someone has to look at, people and invites apart: "1 person needs attention (3 invites)", with the rows
 * refused as a whole (no tool told) said apart too.
 */
export function attentionLabel(a: Attention): string {
  if (a.people === 0) return '';
  const parts = [a.invites > 0 ? plural(a.invites, 'invite') : '', a.wholeRows > 0 ? plural(a.wholeRows, 'whole row') : ''].filter(Boolean);
  return `${plural(a.people, 'person needs', 'people need')} attention (${parts.join(', ')})`;
}

export function batchesSection(batches: readonly BatchRow[]): string {
  if (batches.length === 0) return '<section id="batches" data-fragment="batches"><h2>Onboardings</h2><p class="empty">Nothing enqueued yet.</p></section>';
  const rows = batches.map((b) => {
    const outcomes = Object.entries(b.outcomes)
      .map(([k, v]) => `<span class="tag ${esc(k)}">${esc(k)} ${v}</span>`)
      .join(' ');
    return `<tr data-batch="${esc(b.batchId)}"><th scope="row"><a href="/console/batches/${encodeURIComponent(b.batchId)}">${esc(b.batchId)}</a></th><td>${when(b.createdAt)}</td>
<td class="progress">${progress(b.done, b.total, b.failed)} <span class="count">${b.done}/${b.total}</span></td><td>${outcomes}</td>
<td class="attention">${attentionLabel(b.attention)}</td><td>${b.complete ? '<span class="state running">done</span>' : b.scheduled > 0 ? `<span class="state scheduled">${b.scheduled} scheduled</span>${b.nextScheduledAt ? ` <span class="muted">next ${when(b.nextScheduledAt)}</span>` : ''}` : ''}</td></tr>`;
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

/** A person of an onboarding's table; `person` once the intake keeps who the HR system says they are. */
type PersonLine = PersonRow;

/** The note of a row refused as a whole: what and where, without the report's "(row)" field name. */
const wholeRowNote = (cell: string) => `whole row refused: ${cell.replace(/^refused: /, '').replace(/ \(row\): /, ' ')}`;

function personRow(p: PersonLine, accounts: readonly string[]): string {
  const whole = p.accounts[WHOLE_ROW];
  const told = accounts.some((a) => p.accounts[a] !== undefined);
  // A row refused as a whole told no tool: its note spans the tool columns instead of sitting in a fake one.
  const cells =
    whole !== undefined && !told
      ? `<td class="whole-row" colspan="${Math.max(1, accounts.length)}">${esc(wholeRowNote(whole))}</td>`
      : accounts.map((a) => `<td class="cell">${esc(p.accounts[a] ?? '')}</td>`).join('');
  const note = whole !== undefined && told ? ` <span class="whole-row">${esc(wholeRowNote(whole))}</span>` : '';
  return `<tr class="${p.summary === 'needs attention' ? 'attention' : ''}"><th scope="row">${personLabel(p.email, p)}</th>${cells}<td>${esc(p.summary)}${note}</td></tr>`;
}

/** Every duplicate row with what it duplicated (the counters say how many; this says which). */
export function duplicatesSection(status: BatchStatus, duplicates: { rows: readonly DuplicateRow[]; more: number }): string {
  if (status.duplicates === 0 && duplicates.rows.length === 0) return '';
  const items = duplicates.rows
    .map(
      (d) =>
        `<li><strong>${esc(d.position)}</strong>${d.who ? ` (${esc(d.who)})` : ''}: ${esc(d.of)}${
          d.accounts.length > 0 ? ` <span class="muted">for ${esc(d.accounts.join(', '))}</span>` : ''
        }</li>`,
    )
    .join('');
  const rows = new Set(duplicates.rows.map((d) => d.position)).size + duplicates.more;
  const more =
    duplicates.more > 0
      ? `<p class="muted">and ${plural(duplicates.more, 'row')} more: every one is in the report (<code>invitebus report ${esc(status.batchId)}</code>).</p>`
      : '';
  return `<section id="duplicates"><h2>Duplicates: ${plural(rows, 'row')}, ${plural(status.duplicates, 'invite')} not queued again</h2><ul class="duplicates">${items}</ul>${more}</section>`;
}

export function batchPage(
  status: BatchStatus,
  attention: Attention,
  people: { accounts: string[]; people: PersonLine[] },
  filter: { summary?: string; q?: string },
  duplicates: { rows: readonly DuplicateRow[]; more: number },
  check?: BatchCheck,
): string {
  const q = filter.q?.toLowerCase();
  const shown = people.people.filter(
    (p) =>
      (!filter.summary || p.summary === filter.summary) &&
      (!q || [p.email, p.who, p.firstName, p.lastName, p.externalId].some((v) => typeof v === 'string' && v.toLowerCase().includes(q))),
  );
  const perAccount = Object.entries(status.accounts)
    .map(([name, a]) => `<li><strong>${esc(name)}</strong> ${progress(a.done, a.total, a.failed)} ${a.done}/${a.total}</li>`)
    .join('');
  const options = ['', 'done', 'needs attention', 'in progress', 'scheduled', 'withdrawn']
    .map((s) => `<option value="${esc(s)}"${filter.summary === s ? ' selected' : ''}>${s || 'everyone'}</option>`)
    .join('');
  const accounts = people.accounts.filter((a) => a !== WHOLE_ROW);
  const head = accounts.map((a) => `<th>${esc(a)}</th>`).join('');
  const rows = shown.map((p) => personRow(p, accounts)).join('');
  return `<h1>Onboarding ${esc(status.batchId)}</h1>${driftNotice(check)}
<section id="batch-progress" data-fragment="batch/${encodeURIComponent(status.batchId)}/progress">${batchProgress(status, attention)}</section>
<ul class="per-account">${perAccount}</ul>
<form class="filters" method="get"><label>show <select name="summary">${options}</select></label><label>name or address contains <input name="q" value="${esc(filter.q ?? '')}"></label><button type="submit">Filter</button>
<a class="button" href="/v1/onboardings/${encodeURIComponent(status.batchId)}/people?format=csv">Export CSV</a></form>
<table class="people"><thead><tr><th>person</th>${head}<th>summary</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">${shown.length} of ${people.people.length} people</p>
${duplicatesSection(status, duplicates)}`;
}

export function batchProgress(status: BatchStatus, attention: Attention): string {
  // Withdrawn hires' invites, cancelled before they were sent: part of done, never failures.
  const cancelled = status.cancelled > 0 ? `, ${status.cancelled} cancelled` : '';
  const finished = status.complete
    ? status.failed > 0
      ? `<span class="state paused">finished: ${status.succeeded} succeeded, ${status.failed} failed${cancelled}</span>`
      : `<span class="state running">done${cancelled}</span>`
    : status.sealed && status.scheduled > 0 && status.scheduled >= status.total - status.done
      ? `<span class="state scheduled">scheduled</span> <span class="muted">${status.scheduled} invite${status.scheduled === 1 ? '' : 's'} waiting for ${status.scheduled === 1 ? 'its' : 'their'} start-date time${status.nextScheduledAt ? `, next ${when(status.nextScheduledAt)}` : ''}</span>`
      : `<span class="state waiting">in progress</span>${status.scheduled > 0 ? ` <span class="muted">${status.scheduled} scheduled${status.nextScheduledAt ? `, next ${when(status.nextScheduledAt)}` : ''}</span>` : ''}`;
  const notQueued =
    status.refused + status.duplicates > 0
      ? ` <span class="muted">not queued: ${status.refused} refused at intake, ${status.duplicates} duplicates</span>`
      : '';
  const again = status.alreadyInBatch > 0 ? ` <span class="muted">${status.alreadyInBatch} rows already in this batch (reruns)</span>` : '';
  const look = attention.people > 0 ? ` <span class="attention">${attentionLabel(attention)}</span>` : '';
  return `<p class="big">${progress(status.done, status.total, status.failed)} <span class="count">${status.done}/${status.total}</span> ${finished}${look}${notQueued}${again}</p>`;
}

/** Invite states a cancel removes (src/invites/cancel.ts): what the person page's button counts. */
const PENDING = new Set(['waiting', 'delayed', 'scheduled', 'prioritized', 'failed']);

/**
 * A person's invites, a fragment of its own (refreshed after a cancel and as events arrive), with the button that
 * cancels a withdrawn hire's pending invites (it asks first, with the count a dry run gives); `noRequestIds`:
 * accounts whose provider documents no request id.
 */
export function personPage(email: string, invites: readonly FoundInvite[], canWrite = false, noRequestIds: ReadonlySet<string> = new Set()): string {
  const fragment = (body: string) => `<section id="person" data-fragment="person?email=${esc(encodeURIComponent(email))}">${body}</section>`;
  if (invites.length === 0)
    return fragment(`<h1>${esc(email)}</h1><p class="empty">No invite of ${esc(email)} in any account (never queued, or removed after retention).</p>`);
  // Their invites may come from several onboardings: the first that names them names them.
  const person = invites.find((i) => i.externalId || i.firstName || i.lastName);
  const name = nameOf(undefined, person);
  const title = `${name ? `${esc(name)} &lt;${esc(email)}&gt;` : esc(email)}${person?.externalId ? ` <span class="ext" title="the HR system's id">${esc(person.externalId)}</span>` : ''}`;
  const requestId = (i: FoundInvite) =>
    i.requestId ? esc(i.requestId) : noRequestIds.has(i.account) ? `<span class="none" title="${NO_REQUEST_ID}">—</span>` : '';
  const pending = invites.filter((i) => PENDING.has(i.state)).length;
  const button =
    canWrite && pending > 0
      ? `<p><button data-action="cancel" data-email="${esc(email)}">Cancel ${pending} pending invite${pending === 1 ? '' : 's'}…</button> <span class="muted">a withdrawn hire: nothing more is sent</span></p>`
      : '';
  const rows = invites
    .map(
      (
        i,
      ) => `<tr><th scope="row">${esc(i.account)}</th><td>${esc(i.state)}</td><td>${esc(i.outcome)}${i.reason && i.reason !== i.outcome ? ` <span class="tag failed">${esc(i.reason)}</span>` : ''}</td>
<td class="num">${i.attempts}</td><td>${esc(i.status)}</td><td>${requestId(i)}</td><td>${when(i.enqueuedAt)}</td><td>${when(i.finishedAt)}</td><td class="message">${esc(i.message)}</td></tr>`,
    )
    .join('');
  return fragment(
    `<h1>${title}</h1>${button}<table class="person"><thead><tr><th>account</th><th>state</th><th>outcome</th><th>attempts</th><th>HTTP</th><th>provider request id</th><th>queued</th><th>finished</th><th>provider's answer</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}
