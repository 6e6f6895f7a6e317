/**
 * Onboarding routes: POST /v1/onboardings (a cohort into the tools of a profile, or of given accounts),
 * GET /v1/onboardings/:id (progress per account and outcome), GET /v1/onboardings/:id/people (one row per
 * person) and GET /v1/people/:email (every invite of one person). Request and response schemas are zod,
 * turned into the OpenAPI document.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Invitebus } from '../core/invitebus.ts';
import { identifierProblem, identifierSchema } from '../identifiers.ts';
import { inputErrors } from '../input/zod-messages.ts';
import { emailField } from '../invites/fields.ts';
import { peopleCsv } from '../onboarding/people.ts';
import { errorBody, fieldErrors, jsonSchema, MAX_INVITES_PER_REQUEST } from './schemas.ts';

/** POST /v1/onboardings: people, each into the tools of their profile (their own `profile` field, or the body's) or of `accounts`. */
export const onboardingBody = z
  .strictObject({
    /** The onboarding id (a batch across accounts); default a new UUID. */
    onboardingId: identifierSchema('batch id').optional(),
    /** The profile of every person whose own `profile` field names none. */
    profile: z.string().min(1).optional(),
    /** Or these accounts, with each person's own fields. */
    accounts: z.array(z.string().min(1)).min(1).optional(),
    /**
     * People: `email`, optional `profile` ("a;b" or a list), optional `externalId`, `firstName`, `lastName` (kept
     * with each invite: events, webhooks, reports) and any invite fields (they override the profile's).
     * Each person is checked alone: one that is not an object, or has a field of the wrong type, is refused by
     * index and field while the others are queued.
     */
    people: z
      .array(z.unknown().describe('a person: an object with email, optional profile, and invite fields'))
      .min(1)
      .max(MAX_INVITES_PER_REQUEST, `at most ${MAX_INVITES_PER_REQUEST} people per request`),
  })
  .refine((b) => b.profile === undefined || b.accounts === undefined, { message: 'give a profile or accounts, not both', path: ['accounts'] });

const counts = z.object({ accepted: z.number().int(), duplicates: z.number().int(), rejected: z.number().int() });

export const onboardingAccepted = z.object({
  onboardingId: z.string(),
  people: z.number().int(),
  accepted: z.number().int().describe('invites queued ((person, account) pairs)'),
  replaced: z.number().int().describe('of the accepted: corrections replacing a failed invite'),
  duplicates: z.number().int(),
  alreadyInBatch: z.number().int().describe('pairs already in this onboarding (a repeated request): neither queued again nor duplicates'),
  rescheduled: z.number().int().optional().describe('of those: scheduled invites moved to a new time (a corrected start date)'),
  notRescheduled: z
    .array(
      z.object({
        index: z.number().int().describe('0-based position in people'),
        account: z.string(),
        who: z.string().optional(),
        id: z.string(),
        state: z.string().describe('completed (sent), active (being sent), waiting (due), failed'),
        finishedOn: z.number().int().optional(),
      }),
    )
    .optional()
    .describe('pairs already in this onboarding given a new time too late: already due, being sent, sent or failed'),
  rejected: z.array(
    z.object({
      index: z.number().int().describe('0-based position in people'),
      account: z.string().optional().describe('absent when the whole person was refused'),
      who: z.string().optional(),
      field: z.string(),
      message: z.string(),
    }),
  ),
  byAccount: z.record(z.string(), counts),
});

const progress = z.object({
  total: z.number().int(),
  done: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  outcomes: z.record(z.string(), z.number().int()),
});

export const onboardingStatus = progress.extend({
  batchId: z.string(),
  refused: z.number().int().describe('person-tool pairs refused at intake'),
  duplicates: z.number().int(),
  alreadyInBatch: z.number().int().describe('person-tool pairs already in this onboarding (a repeated request): not duplicates'),
  scheduled: z.number().int().describe('of the pending: invites waiting for their scheduled time (start dates); the onboarding is waiting, not stuck'),
  nextScheduledAt: z.number().int().optional().describe('when the next scheduled invite is due (ms)'),
  complete: z.boolean(),
  sealed: z.boolean(),
  reasons: z.record(z.string(), z.number().int()),
  accounts: z.record(z.string(), progress),
  createdAt: z.number().int().optional(),
  completedAt: z.number().int().optional(),
});

export const onboardingPeople = z.object({
  onboardingId: z.string(),
  accounts: z.array(z.string()),
  people: z.array(
    z.object({
      email: z.string(),
      who: z.string().optional(),
      externalId: z.string().optional().describe("the person's id in the HR system, as given"),
      firstName: z.string().optional(),
      lastName: z.string().optional(),
      accounts: z.record(z.string(), z.string()).describe('per account: invited, already_member, failed: REASON, waiting, refused: ...'),
      summary: z.enum(['done', 'needs attention', 'in progress', 'scheduled']),
    }),
  ),
});

export const foundInvite = z.object({
  inviteId: z.string(),
  account: z.string(),
  email: z.string(),
  externalId: z.string().describe("the person's id in the HR system, as given ('' when none)"),
  firstName: z.string(),
  lastName: z.string(),
  state: z.string(),
  outcome: z.string(),
  reason: z.string(),
  attempts: z.number().int(),
  status: z.string(),
  requestId: z.string(),
  message: z.string(),
  at: z.string(),
  enqueuedAt: z.number().int().optional(),
  finishedAt: z.number().int().optional(),
});

export const personInvites = z.object({ email: z.string(), invites: z.array(foundInvite) });

const idParam = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
const notFound = { 404: jsonSchema(errorBody) };

export function onboardingRoutes(app: FastifyInstance, ib: Invitebus): void {
  app.post(
    '/v1/onboardings',
    {
      schema: {
        summary: 'Onboard people into the tools of a profile (or of given accounts): one invite per (person, account), one onboarding (202)',
        body: jsonSchema(onboardingBody),
        response: { 202: jsonSchema(onboardingAccepted, 'output'), 400: jsonSchema(errorBody) },
      },
    },
    async (request, reply) => {
      const parsed = onboardingBody.safeParse(request.body, { error: inputErrors });
      if (!parsed.success) return reply.code(400).send({ error: 'invalid_body', details: fieldErrors(parsed.error) });
      const b = parsed.data;
      const result = await ib.onboard(
        b.people,
        { ...(b.profile ? { profile: b.profile } : {}), ...(b.accounts ? { accounts: b.accounts } : {}) },
        { ...(b.onboardingId ? { batchId: b.onboardingId } : {}), source: 'api' },
      );
      const { batchId, duplicateRows: _rows, ...rest } = result;
      return reply.code(202).send({ onboardingId: batchId, ...rest, byAccount: result.byAccount ?? {} });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/onboardings/:id',
    {
      schema: {
        summary: 'An onboarding: totals, per account and per outcome',
        params: idParam,
        response: { 200: jsonSchema(onboardingStatus, 'output'), ...notFound },
      },
    },
    async (request, reply) => {
      const problem = identifierProblem('batch id', request.params.id);
      const status = problem === undefined ? await ib.batches.status(request.params.id) : undefined;
      return status ?? reply.code(404).send({ error: 'not_found', message: problem ?? `no onboarding '${request.params.id}'` });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: string } }>(
    '/v1/onboardings/:id/people',
    {
      schema: {
        summary: 'An onboarding by person: one column per account, done or needs attention, refused rows and duplicates included (?format=csv)',
        params: idParam,
        response: { 200: jsonSchema(onboardingPeople, 'output'), ...notFound },
      },
    },
    async (request, reply) => {
      const problem = identifierProblem('batch id', request.params.id);
      const report = problem === undefined ? await ib.batches.people(request.params.id) : undefined;
      if (report === undefined) return reply.code(404).send({ error: 'not_found', message: problem ?? `no onboarding '${request.params.id}'` });
      if (request.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}-people.csv"`)
          .send([...peopleCsv(report)].join(''));
      }
      return { onboardingId: request.params.id, ...report };
    },
  );

  app.get<{ Params: { email: string } }>(
    '/v1/people/:email',
    {
      schema: {
        summary: 'Every invite of one person across accounts: state, outcome, reason, attempts, provider request id, when',
        params: { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] },
        response: { 200: jsonSchema(personInvites, 'output'), 400: jsonSchema(errorBody), ...notFound },
      },
    },
    async (request, reply) => {
      const email = emailField.safeParse(request.params.email);
      if (!email.success) return reply.code(400).send({ error: 'bad_request', message: email.error.issues[0]?.message ?? 'not an email address' });
      const invites = await ib.find(email.data);
      if (invites.length === 0) return reply.code(404).send({ error: 'not_found', message: `no invite of ${email.data} in any account` });
      return { email: email.data, invites };
    },
  );
}
