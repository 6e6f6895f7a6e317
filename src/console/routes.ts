/**
 * The operator's console: /login and /logout, /console (accounts, onboardings, failures, person search),
 * /console/batches/:id and /console/people. Pages are rendered on the server; a small script refreshes their
 * sections when events arrive (Server-Sent Events from /v1/events) and sends the buttons' actions to the same
 * API routes machines use (/v1/accounts/:name/pause, /v1/replays), with the session's CSRF token.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiTokens, endSession, startSession, tokenAccess } from '../api/auth.ts';
import { CONSOLE_HELMET } from '../api/security-headers.ts';
import type { SessionStore } from '../api/sessions.ts';
import type { Invitebus } from '../core/invitebus.ts';
import { identifierProblem } from '../identifiers.ts';
import { emailField } from '../invites/fields.ts';
import { accountsView, accountsWithoutRequestIds, attentionOf, batchesView, duplicatesView, failuresView } from './data.ts';
import { esc, page } from './html.ts';
import { safeNextPath } from './next-path.ts';
import { accountsSection, batchesSection, batchPage, batchProgress, failuresSection, personPage } from './views.ts';

const ASSETS: Record<string, { type: string; body: string }> = {
  'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./assets/console.js', import.meta.url), 'utf8') },
  'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/console.css', import.meta.url), 'utf8') },
};

function loginPage(csrf: string, next: string, problem?: string): string {
  return page({
    title: 'Log in',
    nav: false,
    csrf,
    body: `<form class="login" method="post" action="/login"><h1>invitebus</h1>
<p>Log in with the API token (<code>INVITEBUS_API_TOKEN</code>) or a read-only token.</p>
${problem ? `<p class="error" role="alert">${esc(problem)}</p>` : ''}
<label>Token <input name="token" type="password" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="_csrf" value="${esc(csrf)}"><input type="hidden" name="next" value="${esc(next)}">
<button type="submit">Log in</button></form>`,
  });
}

/** Every console route: hidden from the OpenAPI document, served with the console's CSP. */
const route = { schema: { hide: true }, helmet: CONSOLE_HELMET };

export function consoleRoutes(app: FastifyInstance, ib: Invitebus, door: { tokens: ApiTokens; sessions: SessionStore }): void {
  const { tokens, sessions } = door;
  const hours = ib.config.api.sessionHours;
  // Keeps a status set before (a 404 page stays a 404).
  const html = (reply: FastifyReply, body: string, code?: number) =>
    (code === undefined ? reply : reply.code(code)).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const canWrite = (request: FastifyRequest) => request.access === 'admin';
  const shell = (request: FastifyRequest, reply: FastifyReply, title: string, body: string) =>
    html(reply, page({ title, csrf: reply.generateCsrf(), body, access: request.access ?? '' }));

  app.get('/console/assets/:file', route, async (request, reply) => {
    const asset = ASSETS[(request.params as { file: string }).file];
    if (asset === undefined) return reply.code(404).send({ error: 'not_found', message: 'no such asset' });
    return reply.type(asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
  });

  app.get<{ Querystring: { next?: string } }>('/login', route, async (request, reply) =>
    html(reply, loginPage(reply.generateCsrf(), safeNextPath(request.query.next))),
  );

  app.post<{ Body: { token?: string; next?: string } }>(
    '/login',
    {
      ...route,
      config: { rateLimit: { max: ib.config.api.loginsPerMinute, timeWindow: 60_000 } },
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      // A JSON body can carry an object here: never converted, it is simply not a token.
      const token = request.body?.token;
      const access = tokenAccess(typeof token === 'string' ? token : '', tokens);
      const next = safeNextPath(request.body?.next);
      if (access === undefined) return html(reply, loginPage(reply.generateCsrf(), next, 'That token is not valid.'), 401);
      await startSession(request, reply, sessions, access, hours);
      return reply.redirect(next, 303);
    },
  );

  // Open to every session (read-only too) and to none: it only ever ends one. The CSRF token keeps other sites
  // from logging people out.
  app.post('/logout', { ...route, preHandler: app.csrfProtection }, async (request, reply) => {
    await endSession(request, reply, sessions);
    return reply.redirect('/login', 303);
  });

  const noRequestIds = accountsWithoutRequestIds(ib);
  const sections = {
    accounts: async (request: FastifyRequest) => accountsSection(await accountsView(ib), canWrite(request)),
    batches: async () => batchesSection(await batchesView(ib)),
    failures: async (request: FastifyRequest) => failuresSection(await failuresView(ib), canWrite(request)),
    // A person's invites (`person?email=`): refreshed after the cancel button and as events arrive.
    person: async (request: FastifyRequest) => {
      const email = emailField.safeParse((request.query as { email?: string }).email ?? '');
      if (!email.success) return `<p class="error">${esc(email.error.issues[0]?.message ?? 'not an address')}</p>`;
      return personPage(email.data, await ib.find(email.data), canWrite(request), noRequestIds);
    },
  };

  app.get('/console', route, async (request, reply) => {
    const [accounts, batches, failures] = await Promise.all([sections.accounts(request), sections.batches(), sections.failures(request)]);
    return shell(request, reply, 'Console', `<div class="live" data-live aria-live="polite"></div>${accounts}${batches}${failures}`);
  });

  app.get<{ Params: { name: string } }>('/console/fragments/:name', route, async (request, reply) => {
    const render = (sections as Record<string, ((r: FastifyRequest) => Promise<string>) | undefined>)[request.params.name];
    if (render === undefined) return reply.code(404).send({ error: 'not_found', message: 'no such section' });
    return html(reply, await render(request));
  });

  const onboarding = async (id: string) => (identifierProblem('batch id', id) === undefined ? ib.batches.status(id) : undefined);

  app.get<{ Params: { id: string } }>('/console/fragments/batch/:id/progress', route, async (request, reply) => {
    const status = await onboarding(request.params.id);
    return status
      ? html(reply, batchProgress(status, await attentionOf(ib, status)))
      : reply.code(404).send({ error: 'not_found', message: 'no such onboarding' });
  });

  app.get<{ Params: { id: string }; Querystring: { summary?: string; q?: string } }>('/console/batches/:id', route, async (request, reply) => {
    const status = await onboarding(request.params.id);
    const people = status ? await ib.batches.people(request.params.id) : undefined;
    if (!status || !people) return shell(request, reply.code(404), 'Not found', `<p class="empty">No onboarding '${esc(request.params.id)}'.</p>`);
    // Checked on every view: the page reads every person of the batch anyway, and drift must not go unseen.
    const check = await ib.batches.check(status.batchId).catch(() => undefined);
    const [attention, duplicates] = await Promise.all([attentionOf(ib, status), duplicatesView(ib, status.batchId)]);
    return shell(request, reply, `Onboarding ${status.batchId}`, batchPage(status, attention, people, request.query, duplicates, check));
  });

  app.get<{ Querystring: { email?: string } }>('/console/people', route, async (request, reply) => {
    const email = emailField.safeParse(request.query.email ?? '');
    if (!email.success)
      return shell(request, reply.code(400), 'Find a person', `<p class="error">${esc(email.error.issues[0]?.message ?? 'not an address')}</p>`);
    return shell(request, reply, email.data, `<div class="live" data-live aria-live="polite"></div>${await sections.person(request)}`);
  });
}
