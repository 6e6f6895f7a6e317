/**
 * Webhook and event routes: GET /v1/webhooks, POST /v1/webhooks/:name/{test,replay,enable}, and
 * GET /v1/events, the event stream as Server-Sent Events for those who pull without Redis (`?since=ID` or
 * the Last-Event-ID header to resume; `?types=a,b` to filter).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Invitebus } from '../core/invitebus.ts';
import { EventFeed, type FeedSink } from '../events/feed.ts';
import { typedEvent } from '../events/stream.ts';
import { inputErrors } from '../input/zod-messages.ts';
import { parseDuration } from '../replay.ts';
import { CLAIM_IDLE_MS } from '../webhooks/fanout.ts';
import { errorBody, fieldErrors, jsonSchema } from './schemas.ts';

const webhookInfo = z.object({
  name: z.string(),
  url: z.string().describe('scheme, host and path (no query string)'),
  events: z.array(z.string()),
  accounts: z.array(z.string()).optional(),
  disabled: z.boolean(),
  disabledAt: z.number().int().optional(),
  failingSince: z.number().int().optional(),
  lastStatus: z.string().optional(),
  lastAt: z.number().int().optional(),
  waiting: z.number().int(),
  delayed: z.number().int(),
  active: z.number().int(),
  failed: z.number().int(),
  completed: z.number().int(),
  pending: z.number().int().describe('events read for this endpoint whose delivery is neither delivered nor queued yet'),
  notStarted: z
    .number()
    .int()
    .describe(`of those, deliveries that could not be started (Redis refused the job): routed again after ${CLAIM_IDLE_MS / 1000} s`),
});

export const webhookReplayBody = z.strictObject({
  since: z.string().refine((s) => {
    try {
      parseDuration(s);
      return true;
    } catch {
      return false;
    }
  }, 'since must be a duration such as 90s, 15m, 2h, 1d'),
});

const nameParam = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const HEARTBEAT_MS = 15_000;
/** Unsent bytes a listener may leave queued before it is dropped as too slow. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function webhookRoutes(app: FastifyInstance, ib: Invitebus): void {
  // One Redis reader for every event listener of this server (src/events/feed.ts). Listeners hold their
  // responses open: the server's close ends them first, or it would wait forever.
  const feed = new EventFeed(ib.redis, ib.events.key);
  app.addHook('preClose', async () => feed.close());
  app.get(
    '/v1/webhooks',
    {
      schema: {
        summary: 'Each webhook endpoint: health, last answer, deliveries waiting and failed',
        response: { 200: jsonSchema(z.object({ webhooks: z.array(webhookInfo) }), 'output') },
      },
    },
    async () => ({ webhooks: await ib.webhooks.list() }),
  );

  app.post<{ Params: { name: string } }>(
    '/v1/webhooks/:name/test',
    {
      schema: {
        summary: 'Send a signed webhook.test event now; answers how the receiver answered (a worker process must run)',
        params: nameParam,
        response: {
          200: jsonSchema(z.object({ delivered: z.boolean(), status: z.number().int().optional(), message: z.string() }), 'output'),
          404: jsonSchema(errorBody),
        },
      },
    },
    async (request) => ib.webhooks.test(request.params.name),
  );

  app.post<{ Params: { name: string } }>(
    '/v1/webhooks/:name/replay',
    {
      schema: {
        summary: 'Deliver again every subscribed event of the last `since` (same webhook-id)',
        params: nameParam,
        body: jsonSchema(webhookReplayBody),
        response: { 200: jsonSchema(z.object({ queued: z.number().int() }), 'output'), 400: jsonSchema(errorBody), 404: jsonSchema(errorBody) },
      },
    },
    async (request, reply) => {
      const parsed = webhookReplayBody.safeParse(request.body ?? {}, { error: inputErrors });
      if (!parsed.success) return reply.code(400).send({ error: 'invalid_body', details: fieldErrors(parsed.error) });
      return ib.webhooks.replay(request.params.name, parseDuration(parsed.data.since));
    },
  );

  app.post<{ Params: { name: string } }>(
    '/v1/webhooks/:name/enable',
    {
      schema: {
        summary: 'Send now: enable a disabled endpoint, and send deliveries waiting for a retry at once',
        params: nameParam,
        response: { 200: jsonSchema(z.object({ wasDisabled: z.boolean(), sentNow: z.number().int() }), 'output'), 404: jsonSchema(errorBody) },
      },
    },
    async (request) => ib.webhooks.enable(request.params.name),
  );

  app.get<{ Querystring: { since?: string; types?: string } }>(
    '/v1/events',
    {
      schema: {
        summary: 'The event stream as Server-Sent Events: `id` the event id, `event` its type, `data` its JSON. Resume with ?since=ID or Last-Event-ID',
        querystring: { type: 'object', properties: { since: { type: 'string' }, types: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const given = request.query.since ?? (request.headers['last-event-id'] as string | undefined);
      if (given !== undefined && given !== '$' && given !== '0' && !STREAM_ID.test(given)) {
        return reply
          .code(400)
          .send({ error: 'bad_request', message: 'since / Last-Event-ID must be an event id such as 1700000000000-0, 0 (from the start) or $ (only new)' });
      }
      const types = request.query.types ? new Set(request.query.types.split(',').map((t) => t.trim())) : undefined;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      raw.write(': invitebus events\n\n');
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      let detach: (() => void) | undefined;
      let gone = false;
      const end = () => {
        gone = true;
        clearInterval(heartbeat);
        detach?.();
        raw.end();
      };
      request.raw.on('close', end);
      const sink: FeedSink = {
        push(entries) {
          for (const { id, fields } of entries) {
            if (types !== undefined && !types.has(fields.type ?? '')) continue;
            raw.write(`id: ${id}\nevent: ${fields.type ?? 'message'}\ndata: ${JSON.stringify({ id, ...typedEvent(fields) })}\n\n`);
          }
          // A listener this far behind is dropped; its EventSource comes back with Last-Event-ID.
          return raw.writableLength <= MAX_BUFFERED_BYTES;
        },
        drained: () =>
          raw.writableNeedDrain && !gone
            ? new Promise<void>((resolve) => {
                const done = () => {
                  raw.off('drain', done).off('close', done);
                  resolve();
                };
                raw.on('drain', done).on('close', done);
              })
            : Promise.resolve(),
        end,
      };
      try {
        detach = await feed.subscribe(given ?? '$', sink);
        if (gone) detach();
      } catch (error) {
        // Redis is away (its outage is logged once elsewhere): the EventSource comes back and resumes.
        request.log.debug({ err: error }, 'event stream: cannot read the events');
        end();
      }
    },
  );
}
