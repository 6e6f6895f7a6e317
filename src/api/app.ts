import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ReloadResult } from '../config/diff.ts';
import { consoleRoutes } from '../console/routes.ts';
import { Invitebus } from '../core/invitebus.ts';
import { InvitebusError } from '../errors.ts';
import { EnqueueInterruptedError, type Producer } from '../producer.ts';
import { connectionLost, invitebusKeys, isRedisUnreachable } from '../redis.ts';
import { describeRedis } from '../redis-connection/factory.ts';
import { connectionHealth } from '../redis-connection/liveness.ts';
import { withTimeout } from '../timeout.ts';
import { VERSION } from '../version.ts';
import { registerAuth } from './auth.ts';
import { configReloadRoutes } from './config-reload.ts';
import { BodyRefused, useJsonBodyParser } from './json-body.ts';
import { onboardingRoutes } from './onboardings.ts';
import { operationRoutes } from './operations.ts';
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
  /** Reloads the process's config file (`serve`): `POST /v1/config/reload` exists only with it. */
  reload?: () => Promise<ReloadResult>;
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
  const boardQueues = () => Object.keys(producer.config.accounts).map((a) => new BullMQAdapter(producer.queue(a), { readOnlyMode }));
  const { replaceQueues } = createBullBoard({ queues: boardQueues(), serverAdapter: board });
  // The accounts of a reloaded config: the dashboard's list follows on its next request.
  let boardAccounts = producer.config.accounts;
  app.addHook('onRequest', async (request) => {
    if (boardAccounts === producer.config.accounts || !request.url.startsWith('/dashboard')) return;
    boardAccounts = producer.config.accounts;
    replaceQueues(boardQueues());
  });
  board.setBasePath('/dashboard');
  await app.register(board.registerPlugin(), { prefix: '/dashboard' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    // Answers within ~1.5 s whatever Redis does: a load balancer must not wait out ioredis' retries.
    const unavailable = `Redis at ${describeRedis(producer.config.redis)} is unreachable`;
    if (connectionLost(producer.redis)) return reply.code(503).send({ ready: false, reason: unavailable });
    // Any connection of this process found dead (a link that went silent) and not yet replaced.
    const lost = connectionHealth.lost();
    if (lost.length > 0) return reply.code(503).send({ ready: false, reason: `${unavailable} from connection ${lost.join(', ')} (reconnecting)` });
    // A keyed command reaches the node that holds invitebus's keys (in a Cluster, INFO goes to any node: a slot
    // without a primary would pass unseen).
    const answers = await withTimeout(producer.redis.exists(invitebusKeys(producer.config.redis.prefix).events), READY_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    const info = answers ? await withTimeout(producer.redis.info('memory'), READY_TIMEOUT_MS).catch(() => undefined) : undefined;
    if (info === undefined) return reply.code(503).send({ ready: false, reason: unavailable });
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (policy !== 'noeviction')
      return reply.code(503).send({ ready: false, reason: `Redis maxmemory-policy is ${policy}; invitebus needs noeviction (jobs could be evicted)` });
    return { ready: true };
  });

  operationRoutes(app, ib);
  onboardingRoutes(app, ib);
  consoleRoutes(app, ib, { tokens, sessions });
  webhookRoutes(app, ib);
  if (options.reload) configReloadRoutes(app, options.reload);

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
    // The writes are on the primary but not confirmed on enough replicas: the same request again is safe.
    if (error instanceof InvitebusError && error.code === 'NOT_REPLICATED')
      return reply.code(503).header('retry-after', '5').send({ error: 'not_replicated', message: error.message });
    if (isRedisUnreachable(error))
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'redis_unavailable', message: `Redis at ${describeRedis(producer.config.redis)} is unreachable; retry later` });
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
