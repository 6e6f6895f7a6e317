/** The /v1 routes of the core's operations: invites, batches, replays, accounts, stats. Each parses, calls the core, answers. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { REPORT_COLUMNS, type ReportLine } from '../batches.ts';
import { type Invitebus, replayFilter } from '../core/invitebus.ts';
import { csvLine } from '../csv.ts';
import { identifierProblem } from '../identifiers.ts';
import { inputErrors } from '../input/zod-messages.ts';
import { emailField } from '../invites/fields.ts';
import { parseDuration } from '../replay.ts';
import { cancelResult, errorBody, fieldErrors, invitesAccepted, invitesBody, jsonSchema, replayBody } from './schemas.ts';

function notFound(reply: FastifyReply, message: string) {
  return reply.code(404).send({ error: 'not_found', message });
}

function toCsv(lines: ReportLine[]): string {
  return `${REPORT_COLUMNS.join(',')}\n${lines.map((l) => csvLine(l, REPORT_COLUMNS)).join('')}`;
}

export function operationRoutes(app: FastifyInstance, ib: Invitebus): void {
  app.post(
    '/v1/invites',
    {
      schema: {
        body: jsonSchema(invitesBody),
        summary: 'Enqueue one invite or up to 10,000 (202)',
        response: { 202: jsonSchema(invitesAccepted, 'output'), 400: jsonSchema(errorBody), 404: jsonSchema(errorBody) },
      },
    },
    async (request, reply) => {
      const parsed = invitesBody.safeParse(request.body, { error: inputErrors });
      if (!parsed.success) return reply.code(400).send({ error: 'invalid_body', details: fieldErrors(parsed.error) });
      const body = parsed.data;
      const invites = body.invites ?? [body.invite];
      const result = await ib.enqueue(body.account, invites, { ...(body.batchId ? { batchId: body.batchId } : {}) });
      return reply.code(202).send(result);
    },
  );

  app.get<{ Querystring: { email?: string } }>(
    '/v1/invites',
    { schema: { summary: 'Every invite of one person across accounts (?email=): state, outcome, reason, attempts, when' } },
    async (request, reply) => {
      const email = request.query.email;
      if (typeof email !== 'string' || email.trim() === '' || email.length > 254)
        return reply.code(400).send({ error: 'bad_request', message: 'give ?email=ADDRESS' });
      return { email, invites: await ib.find(email) };
    },
  );

  app.get<{ Params: { id: string } }>('/v1/invites/:id', { schema: { summary: 'One invite: state, outcome, reason, attempts' } }, async (request, reply) => {
    const { id } = request.params;
    const problem = identifierProblem('invite id', id);
    if (problem !== undefined) return notFound(reply, `no invite ${problem}`);
    return (await ib.findInvite(id)) ?? notFound(reply, `no invite '${id}' (unknown, or removed after retention)`);
  });

  app.delete<{ Params: { email: string }; Querystring: { batch?: string; dryRun?: string } }>(
    '/v1/people/:email/invites',
    {
      schema: {
        summary: "Cancel a withdrawn hire's pending invites (every account, or ?batch=ID's); ?dryRun=true only counts them",
        description:
          'Each waiting, scheduled, retrying or failed invite of the person is removed atomically unless a worker is sending it, counted `cancelled` in its batch, with an invite.cancelled event. Invites already sent are listed per tool ("sent on DATE: remove the person in TOOL"). A second call cancels nothing and says so. 404 when no invite of the person is known.',
        response: { 200: jsonSchema(cancelResult, 'output'), 400: jsonSchema(errorBody), 404: jsonSchema(errorBody) },
      },
    },
    async (request, reply) => {
      const email = emailField.safeParse(request.params.email);
      if (!email.success) return reply.code(400).send({ error: 'bad_request', message: `email: ${email.error.issues[0]?.message ?? 'not an address'}` });
      const { batch, dryRun } = request.query;
      if (batch !== undefined) {
        const problem = identifierProblem('batch id', batch);
        if (problem !== undefined) return reply.code(400).send({ error: 'bad_request', message: problem });
      }
      if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false')
        return reply.code(400).send({ error: 'bad_request', message: 'dryRun must be true or false' });
      const result = await ib.cancel(request.params.email, {
        by: request.authBy === 'session' ? 'console' : 'api',
        dryRun: dryRun === 'true',
        ...(batch ? { batchId: batch } : {}),
      });
      if (result.invites.length === 0)
        return notFound(
          reply,
          `no invite of ${request.params.email}${batch ? ` in batch '${batch}'` : ' in any account'} (never queued, or removed after retention)`,
        );
      return result;
    },
  );

  app.get<{ Params: { id: string } }>('/v1/batches/:id', { schema: { summary: 'Batch counters and progress' } }, async (request, reply) => {
    const problem = identifierProblem('batch id', request.params.id);
    if (problem !== undefined) return notFound(reply, `no batch: ${problem}`);
    const status = await ib.batches.status(request.params.id);
    return status ?? notFound(reply, `no batch '${request.params.id}'`);
  });

  app.get<{ Params: { id: string }; Querystring: { format?: string } }>(
    '/v1/batches/:id/report',
    { schema: { summary: 'One line per invite (JSON, or CSV with ?format=csv)' } },
    async (request, reply) => {
      const problem = identifierProblem('batch id', request.params.id);
      if (problem !== undefined) return notFound(reply, `no batch: ${problem}`);
      const status = await ib.batches.status(request.params.id);
      if (!status) return notFound(reply, `no batch '${request.params.id}'`);
      const lines: ReportLine[] = [];
      for await (const line of ib.batches.report(request.params.id)) lines.push(line);
      if (request.query.format === 'csv') return reply.type('text/csv').send(toCsv(lines));
      return { batchId: status.batchId, invites: lines };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/batches/:id/check',
    { schema: { summary: "Recompute a batch's counters from its jobs and report any drift" } },
    async (request) => ib.batches.check(request.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/batches/:id/repair',
    { schema: { summary: 'Record stranded results and rewrite drifted counters of a batch (idempotent)' } },
    async (request) => ib.batches.check(request.params.id, { repair: true }),
  );

  app.post(
    '/v1/replays',
    { schema: { body: jsonSchema(replayBody), summary: 'Move matching failed invites back to waiting with fresh attempts' } },
    async (request, reply) => {
      const parsed = replayBody.safeParse(request.body ?? {}, { error: inputErrors });
      if (!parsed.success) return reply.code(400).send({ error: 'invalid_body', details: fieldErrors(parsed.error) });
      const b = parsed.data;
      return ib.replay(replayFilter({ ...b, ...(b.since ? { sinceMs: parseDuration(b.since) } : {}) }), {
        dryRun: b.dryRun ?? false,
        ...(b.set ? { set: b.set } : {}),
      });
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(`/v1/accounts/:name/${action}`, { schema: { summary: `${action} an account` } }, async (request) => {
      const name = request.params.name;
      const changed = action === 'pause' ? await ib.accounts.pause(name) : await ib.accounts.resume(name, 'api');
      return { account: name, paused: action === 'pause', changed };
    });
  }

  app.get('/v1/stats', { schema: { summary: 'Per account: job counts, paused, rate-limit wait' } }, async () => ({ accounts: await ib.accounts.list() }));
}
