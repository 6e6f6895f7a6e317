import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { REPORT_COLUMNS, type ReportLine } from '../batches.ts';
import { consoleRoutes } from '../console/routes.ts';
import { Invitebus, replayFilter } from '../core/invitebus.ts';
import { csvLine } from '../csv.ts';
import { InvitebusError } from '../errors.ts';
import { identifierProblem } from '../identifiers.ts';
import { inputErrors } from '../input/zod-messages.ts';
import { EnqueueInterruptedError, type Producer } from '../producer.ts';
import { connectionLost, isRedisUnreachable, safeRedisUrl } from '../redis.ts';
import { parseDuration } from '../replay.ts';
import { withTimeout } from '../timeout.ts';
import { VERSION } from '../version.ts';
import { registerAuth } from './auth.ts';
import { BodyRefused, useJsonBodyParser } from './json-body.ts';
import { onboardingRoutes } from './onboardings.ts';
import { errorBody, fieldErrors, invitesAccepted, invitesBody, jsonSchema, replayBody } from './schemas.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { SessionStore } from './sessions.ts';
import { webhookRoutes } from './webhooks.ts';

const READY_TIMEOUT_MS = 1_500;

export interface ApiOptions {
  producer: Producer;
  /** Bearer token every route but the health checks requires; people log in to the console with it. */
  token: string;
  /** Tokens that can look but not change anything. */
  readOnlyTokens?: readonly string[];
  /** Prometheus registry served at /metrics. */
  registry: Registry;
  /** Where internal errors are logged (a 500's details never reach the client). */
  logger?: FastifyBaseLogger;
  /** Largest accepted body, bytes (default 8 MiB: 10,000 invites fit). */
  bodyLimit?: number;
}

function notFound(reply: FastifyReply, message: string) {
  return reply.code(404).send({ error: 'not_found', message });
}

function toCsv(lines: ReportLine[]): string {
  return `${REPORT_COLUMNS.join(',')}\n${lines.map((l) => csvLine(l, REPORT_COLUMNS)).join('')}`;
}

/** The HTTP API: invites, batches, replays, accounts, stats, metrics, OpenAPI at /docs, bull-board at /dashboard. */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const producer = options.producer;
  const ib = Invitebus.over(producer);
  // Long enough for any identifier (128) and a hostile one, so a bad id is a 404 that says why, not a 414.
  // Requests are not logged one by one; errors are, through the process's logger.
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024,
    ...(options.logger ? { loggerInstance: options.logger.child({ component: 'api' }, { level: 'warn' }) } : { logger: false }),
    routerOptions: { maxParamLength: 1024 },
    // X-Forwarded-* are believed from these proxies only: the client address (rate limits) and https (Secure).
    trustProxy: producer.config.api.trustProxy,
  });
  useJsonBodyParser(app);
  // Bodies are validated with zod in the handlers (field-level messages); schemas below document them.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  // Response schemas document the answers (OpenAPI); answers are serialised as they are, never filtered by them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await registerSecurityHeaders(app);
  const tokens = { admin: options.token, read: options.readOnlyTokens ?? [] };
  const sessions = new SessionStore(producer.redis, producer.config.redis.prefix);
  await registerAuth(app, { tokens, sessions, failedTokensPerMinute: producer.config.api.failedTokensPerMinute });

  await app.register(swagger, {
    openapi: {
      info: { title: 'invitebus', version: VERSION, description: 'Reliable delivery of team invitations to SaaS providers' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const board = new FastifyAdapter();
  const readOnlyMode = producer.config.api.dashboard.readOnly;
  createBullBoard({
    queues: Object.keys(producer.config.accounts).map((a) => new BullMQAdapter(producer.queue(a), { readOnlyMode })),
    serverAdapter: board,
  });
  board.setBasePath('/dashboard');
  await app.register(board.registerPlugin(), { prefix: '/dashboard' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    // Answers within ~1.5 s whatever Redis does: a load balancer must not wait out ioredis' retries.
    const unavailable = `Redis at ${safeRedisUrl(producer.config.redis.url)} is unreachable`;
    if (connectionLost(producer.redis)) return reply.code(503).send({ ready: false, reason: unavailable });
    const info = await withTimeout(producer.redis.info('memory'), READY_TIMEOUT_MS).catch(() => undefined);
    if (info === undefined) return reply.code(503).send({ ready: false, reason: unavailable });
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (policy !== 'noeviction')
      return reply.code(503).send({ ready: false, reason: `Redis maxmemory-policy is ${policy}; invitebus needs noeviction (jobs could be evicted)` });
    return { ready: true };
  });

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
      const result = await producer.inviteMany(body.account, invites, { ...(body.batchId ? { batchId: body.batchId } : {}) });
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

  onboardingRoutes(app, ib);
  consoleRoutes(app, ib, { tokens, sessions });
  webhookRoutes(app, ib);

  app.get<{ Params: { id: string } }>('/v1/invites/:id', { schema: { summary: 'One invite: state, outcome, reason, attempts' } }, async (request, reply) => {
    const { id } = request.params;
    const problem = identifierProblem('invite id', id);
    if (problem !== undefined) return notFound(reply, `no invite ${problem}`);
    return (await ib.findInvite(id)) ?? notFound(reply, `no invite '${id}' (unknown, or removed after retention)`);
  });

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

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics()));

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof BodyRefused && error.details.length > 0)
      return reply.code(400).send({ error: 'invalid_body', message: error.message, details: error.details });
    if (error instanceof InvitebusError && error.code === 'UNKNOWN_ACCOUNT') return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof InvitebusError && error.code === 'UNKNOWN_WEBHOOK') return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof InvitebusError && error.code === 'UNKNOWN_BATCH') return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof InvitebusError && error.code === 'UNKNOWN_PROFILE') return reply.code(400).send({ error: 'unknown_profile', message: error.message });
    if (error instanceof InvitebusError && error.code === 'INVALID_IDENTIFIER') return reply.code(400).send({ error: 'bad_request', message: error.message });
    if (error instanceof InvitebusError && error.code === 'INVITE_INVALID')
      return reply.code(400).send({ error: 'invalid_invite', message: error.message, details: error.details });
    if (error instanceof EnqueueInterruptedError)
      return reply.code(503).header('retry-after', '5').send({ error: 'enqueue_interrupted', message: error.message, confirmed: error.result });
    if (isRedisUnreachable(error))
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'redis_unavailable', message: `Redis at ${safeRedisUrl(producer.config.redis.url)} is unreachable; retry later` });
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    // A 500 never shows a driver's message (it may name keys or internals): it is logged, the client gets a sentence.
    if (status >= 500) _request.log.error({ err: error }, 'internal error');
    const message = status >= 500 ? 'internal error; the server log has the details' : error instanceof Error ? error.message : String(error);
    const code =
      status === 413 ? 'body_too_large' : status === 403 ? 'forbidden' : status === 429 ? 'too_many_requests' : status < 500 ? 'bad_request' : 'internal';
    return reply.code(status).send({ error: code, message });
  });

  return app;
}
