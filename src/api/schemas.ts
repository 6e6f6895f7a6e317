import { z } from 'zod';
import { identifierSchema } from '../identifiers.ts';
import { CANCEL_STATUSES, CANCELLABLE_STATES } from '../invites/cancel.ts';
import { parseDuration } from '../replay.ts';
import { REPLAYABLE_REASONS } from '../types.ts';

export const MAX_INVITES_PER_REQUEST = 10_000;

/** POST /v1/invites: one invite or up to 10,000, for one account. Invite fields are checked per provider. */
export const invitesBody = z
  .strictObject({
    account: z.string().min(1),
    batchId: identifierSchema('batch id').optional(),
    invite: z.record(z.string(), z.unknown()).optional(),
    invites: z.array(z.unknown()).min(1).max(MAX_INVITES_PER_REQUEST, `at most ${MAX_INVITES_PER_REQUEST} invites per request`).optional(),
  })
  .refine((b) => (b.invite === undefined) !== (b.invites === undefined), { message: 'give exactly one of invite or invites', path: ['invites'] });

/** The answer to POST /v1/invites: what was queued, what was a duplicate, what was refused and why. */
export const invitesAccepted = z.object({
  batchId: z.string(),
  accepted: z.number().int(),
  replaced: z.number().int().describe('of the accepted: corrections replacing a failed invite'),
  duplicates: z.number().int(),
  alreadyInBatch: z.number().int().describe('invites already in this batch (a repeated request): neither queued again nor duplicates'),
  rejected: z.array(z.object({ index: z.number().int(), field: z.string(), message: z.string() })),
});

export const replayBody = z.strictObject({
  accounts: z.array(z.string()).optional(),
  batchId: identifierSchema('batch id').optional(),
  reason: z.enum(REPLAYABLE_REASONS).optional(),
  /** e.g. "1h": only invites that failed within it. */
  since: z
    .string()
    .refine((s) => {
      try {
        parseDuration(s);
        return true;
      } catch {
        return false;
      }
    }, 'since must be a duration such as 90s, 15m, 1h, 2d')
    .optional(),
  dryRun: z.boolean().optional(),
  /** Fields to change on every replayed invite, e.g. {"role": "member"}: checked by each provider's schema first. */
  set: z.record(z.string(), z.unknown()).optional(),
});

/** The answer to DELETE /v1/people/:email/invites: per account holding an invite of the person, what became of it. */
export const cancelResult = z.object({
  email: z.string(),
  batchId: z.string().optional(),
  dryRun: z.boolean(),
  cancelled: z.number().int().describe('invites cancelled by this call (or that a dry run would cancel)'),
  invites: z.array(
    z.object({
      account: z.string(),
      provider: z.string(),
      inviteId: z.string(),
      status: z.enum(CANCEL_STATUSES).describe('sent: remove the person in the tool by hand; sending: being sent now, cannot be stopped: check again'),
      previous: z.enum(CANCELLABLE_STATES).optional(),
      batchId: z.string().optional(),
      at: z.number().int().optional().describe('when it was cancelled or sent (ms)'),
      message: z.string(),
    }),
  ),
});

/** Field-level details of a zod error, for 400 answers. */
export function fieldErrors(error: z.ZodError): Array<{ field: string; message: string }> {
  return error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** JSON Schema of a zod schema, for the OpenAPI document: as a request takes it, or as a response gives it. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Every error answer: a stable `error` code, a sentence, and field details for a refused body. */
export const errorBody = z.object({
  error: z.string(),
  message: z.string().optional(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
