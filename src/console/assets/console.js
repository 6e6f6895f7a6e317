// The console's only script: live sections and the buttons. Plain browser JavaScript, no build step.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const live = document.querySelector('[data-live]');

function say(text) {
  if (live) live.textContent = text;
}

/** Fetches a section again and swaps it in place. */
async function refresh(section) {
  const name = section.dataset.fragment;
  const res = await fetch(`/console/fragments/${name}`, { headers: { accept: 'text/html' } });
  if (!res.ok) return;
  const holder = document.createElement('div');
  holder.innerHTML = await res.text();
  const fresh = holder.querySelector('[data-fragment]') ?? holder;
  if (fresh.hasAttribute?.('data-fragment')) section.replaceWith(fresh);
  else section.innerHTML = holder.innerHTML;
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
  const { action, account, reason } = button.dataset;
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
  for (const type of ['invite.succeeded', 'invite.failed', 'batch.completed', 'account.paused', 'account.resumed', 'account.rate_limited']) {
    events.addEventListener(type, refreshSoon);
  }
  setInterval(refreshSoon, 5000);
}
