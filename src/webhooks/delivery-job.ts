/** A delivery as a BullMQ job, and what a receiver answered: shared by the delivery and its direct sender. */
import type { Config } from '../config/load.ts';
import { type WebhookJobData, webhookBody } from './payload.ts';

/** What a receiver answered, kept with the job: its status and the start of its body. */
export interface DeliveryResult {
  status: number;
  body: string;
}

export type DeliveryJob = ReturnType<typeof deliveryJob>;

/** The delivery job of one stream event to one endpoint (`jobId`: the event id, or a replay's own). */
export function deliveryJob(config: Config, name: string, eventId: string, fields: Record<string, string>, jobId = eventId) {
  return {
    name: 'event',
    data: { eventId, type: fields.type ?? '', body: webhookBody(eventId, fields) } satisfies WebhookJobData,
    opts: deliveryJobOptions(config, name, jobId),
  };
}

/** Job options of a delivery: the event id as job id (an event is queued once per endpoint), the schedule's attempts. */
export function deliveryJobOptions(config: Config, name: string, jobId: string) {
  const hook = config.webhooks[name];
  return {
    jobId,
    attempts: (hook?.retryScheduleMs.length ?? 0) + 1,
    backoff: { type: 'custom' },
    removeOnComplete: { age: config.retention.completedAgeSec, count: 100_000 },
    removeOnFail: { age: config.retention.failedAgeSec },
  };
}
