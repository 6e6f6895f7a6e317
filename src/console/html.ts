/** Server-rendered HTML for the console: escaped by default, no template engine, no asset from the internet. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and attribute values. */
export const esc = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** A page: the console's stylesheet and script, the CSRF token for its writes, a header with navigation. */
export function page(options: { title: string; csrf?: string; body: string; nav?: boolean; access?: string }): string {
  const nav =
    options.nav === false
      ? ''
      : `<header><a class="brand" href="/console">invitebus</a>
  <form class="search" action="/console/people" method="get"><input name="email" type="search" placeholder="find a person by email" aria-label="find a person by email" required></form>
  <nav><a href="/docs">API</a><a href="/dashboard">queues</a>${options.access === 'read' ? '<span class="badge">read-only</span>' : ''}
  <form action="/logout" method="post"><input type="hidden" name="_csrf" value="${esc(options.csrf)}"><button type="submit" class="link">Log out</button></form></nav></header>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(options.title)} · invitebus</title>
<meta name="csrf-token" content="${esc(options.csrf)}">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/console.js"></script>
</head><body>${nav}<main>${options.body}</main></body></html>`;
}

/** An inline SVG sparkline of counts (no chart library: 60 points fit in a polyline). */
export function sparkline(values: readonly number[], width = 120, height = 24): string {
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`).join(' ');
  const total = values.reduce((a, b) => a + b, 0);
  return `<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${total} invites in the last hour"><polyline points="${points}"/></svg>`;
}

/**
 * A progress bar: done of total, with the failed part shown apart. Drawn in SVG (lengths are attributes, not
 * inline styles) so the console's CSP needs no 'unsafe-inline'.
 */
export function progress(done: number, total: number, failed: number): string {
  const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
  const bad = total === 0 ? 0 : (failed / total) * 100;
  const ok = total === 0 ? 100 : Math.max(0, (done / total) * 100 - bad);
  return `<svg class="bar" viewBox="0 0 100 1" preserveAspectRatio="none" role="progressbar" aria-valuenow="${pct}" aria-valuemin="0" aria-valuemax="100"><title>${done}/${total}</title><rect class="ok" width="${ok.toFixed(1)}" height="1"/><rect class="bad" x="${ok.toFixed(1)}" width="${bad.toFixed(1)}" height="1"/></svg><span class="pct">${pct}%</span>`;
}

/**
 * A moment as `<time>`: the page's script shows it in the viewer's time zone with the zone named
 * ("2026-03-02 14:02:05 CET", assets/console.js); without the script it reads in UTC, and says so.
 */
export const when = (ms: number | undefined) => {
  if (!ms) return '';
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
};

/**
 * A moment as a short `<time data-clock>`: the page's script shows "14:02 CET" on the viewer's today, the date too
 * on another day; without the script it reads "14:02 UTC".
 */
export const clock = (ms: number) => {
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}" data-clock>${iso.slice(11, 16)} UTC</time>`;
};

/** A count with its noun: "1 invite", "3 invites". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
