// The console's only script: live sections and the buttons. Plain browser JavaScript, no build step.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const live = document.querySelector('[data-live]');

function say(text) {
  if (live) live.textContent = text;
}

/** A moment in the viewer's time zone, its zone named as their locale names it: "2026-03-02 14:02:05 CET". */
const local = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
});

/**
 * Puts every `<time datetime>` under `root` in the viewer's time zone (the server writes them in UTC); a
 * `<time data-clock>` reads "14:02 CET", with its date when it is not the viewer's today.
 */
function localiseTimes(root) {
  const today = Object.fromEntries(local.formatToParts(new Date()).map((p) => [p.type, p.value]));
  for (const time of root.querySelectorAll('time[datetime]')) {
    const date = new Date(time.getAttribute('datetime'));
    if (Number.isNaN(date.getTime())) continue;
    const part = Object.fromEntries(local.formatToParts(date).map((p) => [p.type, p.value]));
    const day = `${part.year}-${part.month}-${part.day}`;
    if (time.hasAttribute('data-clock')) {
      const sameDay = day === `${today.year}-${today.month}-${today.day}`;
      time.textContent = `${sameDay ? '' : `${day} `}${part.hour}:${part.minute} ${part.timeZoneName}`;
    } else time.textContent = `${day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
    time.title = `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  }
}
localiseTimes(document);

/** Fetches a section again and swaps it in place. */
async function refresh(section) {
  const name = section.dataset.fragment;
  const res = await fetch(`/console/fragments/${name}`, { headers: { accept: 'text/html' } });
  if (!res.ok) return;
  const holder = document.createElement('div');
  holder.innerHTML = await res.text();
  localiseTimes(holder);
  const fresh = holder.querySelector('[data-fragment]') ?? holder;
  if (fresh.hasAttribute?.('data-fragment')) section.replaceWith(fresh);
  else section.replaceChildren(...holder.childNodes);
}

let pending;
/** At most one refresh of every section per second, however many events arrive. */
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = undefined;
    await Promise.all([...document.querySelectorAll('[data-fragment]')].map((s) => refresh(s).catch(() => undefined)));
  }, 1000);
}

/** API calls carry the session cookie and its CSRF token. */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.message ?? `HTTP ${res.status}`);
  return json;
}

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const { action, account, reason, email } = button.dataset;
  button.disabled = true;
  try {
    if (action === 'pause' || action === 'resume') {
      await api('POST', `/v1/accounts/${encodeURIComponent(account)}/${action}`);
      say(`${account} ${action === 'pause' ? 'paused' : 'resumed'}`);
    } else if (action === 'replay') {
      const filter = { accounts: [account], ...(reason && reason !== 'unknown' ? { reason } : {}) };
      const dry = await api('POST', '/v1/replays', { ...filter, dryRun: true });
      if (window.confirm(`Replay ${dry.matched} failed invites of ${account} (${reason})?`)) {
        const done = await api('POST', '/v1/replays', filter);
        say(`${done.replayed} invites of ${account} replayed`);
      }
    } else if (action === 'cancel') {
      // A withdrawn hire: the count first (a dry run), then the cancel; what was already sent is said per tool.
      const path = `/v1/people/${encodeURIComponent(email)}/invites`;
      const dry = await api('DELETE', `${path}?dryRun=true`);
      const n = dry.cancelled;
      if (n === 0) say(`nothing to cancel for ${email}`);
      else if (window.confirm(`Cancel ${n} pending invite${n === 1 ? '' : 's'} of ${email}?`)) {
        const done = await api('DELETE', path);
        const left = done.invites.filter((l) => l.status === 'sent' || l.status === 'sending').map((l) => `${l.account}: ${l.message}`);
        say(`${done.cancelled} invite${done.cancelled === 1 ? '' : 's'} of ${email} cancelled${left.length > 0 ? `; ${left.join('; ')}` : ''}`);
      }
    }
  } catch (error) {
    say(`${action} failed: ${error.message}`);
  } finally {
    button.disabled = false;
    refreshSoon();
  }
});

// Live: every event refreshes the sections (throttled); polling every 5 s covers a dropped stream.
if (document.querySelector('[data-fragment]')) {
  const events = new EventSource('/v1/events');
  events.onmessage = refreshSoon;
  for (const type of [
    'invite.succeeded',
    'invite.failed',
    'invite.cancelled',
    'batch.completed',
    'account.paused',
    'account.resumed',
    'account.rate_limited',
  ]) {
    events.addEventListener(type, refreshSoon);
  }
  setInterval(refreshSoon, 5000);
}
