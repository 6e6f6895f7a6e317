/** POST /v1/config/reload: the `serve` process reads its config file again (as on SIGHUP). An operator action. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeDiff, type ReloadResult } from '../config/diff.ts';
import { jsonSchema } from './schemas.ts';

const reloaded = z.object({
  applied: z.literal(true),
  added: z.array(z.string()).describe('accounts started'),
  removed: z.array(z.string()).describe('accounts drained and stopped (their waiting invites stay queued)'),
  changed: z.array(z.string()).describe('accounts drained and started again with their new settings'),
  unchanged: z.number().int().describe('accounts left running untouched'),
  message: z.string(),
});

const refusedAnswer = z.object({
  error: z.literal('reload_refused'),
  message: z.string(),
  problems: z.array(z.string()).describe('each reason: a config error, a missing credential, a change that needs a restart'),
});

export function configReloadRoutes(app: FastifyInstance, reload: () => Promise<ReloadResult>): void {
  app.post(
    '/v1/config/reload',
    {
      schema: {
        summary: 'Read the config file again and apply it (as SIGHUP): accounts added, removed or changed without a restart',
        description:
          'The file is validated whole first (credentials of every account this process runs included). A config that is invalid, lacks a credential or changes what only a restart applies (redis, worker, api, webhooks, retention, events, log) is refused with 422 and every problem; the running config is kept. Otherwise added accounts start, removed ones drain (in-flight calls finish; their waiting invites stay in Redis), changed ones drain and start again with their new settings, unchanged ones are not touched.',
        response: { 200: jsonSchema(reloaded, 'output'), 422: jsonSchema(refusedAnswer, 'output') },
      },
    },
    async (_request, reply) => {
      const result = await reload();
      if (!result.applied) {
        return reply
          .code(422)
          .send({ error: 'reload_refused', message: `the running config is kept: ${result.problems.join('; ')}`, problems: result.problems });
      }
      const { added, removed, changed, unchanged } = result;
      return { applied: true, added, removed, changed, unchanged: unchanged.length, message: `config reloaded: ${describeDiff(result)}` };
    },
  );
}
