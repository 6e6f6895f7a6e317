import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Producer } from './producer.ts';
import { connectionLost, invitebusKeys } from './redis.ts';
import { redisUp } from './redis-connection/liveness.ts';
import { type AccountStats, accountStats } from './stats.ts';
import { withTimeout } from './timeout.ts';

/**
 * Prometheus metrics of one process. Counters and histograms are per process (scrape every worker process
 * and sum by account); queue gauges are read from Redis at scrape time, so any one process reports them.
 */
export interface Metrics {
  registry: Registry;
  invites: Counter<'account' | 'provider' | 'outcome'>;
  providerRequests: Counter<'account' | 'provider' | 'status'>;
  rateLimitWaits: Counter<'account'>;
  requestDuration: Histogram<'account' | 'provider'>;
  inviteLatency: Histogram<'account' | 'provider'>;
  callSlotLateness: Histogram<'account'>;
}

export function createMetrics(registry = new Registry()): Metrics {
  return {
    registry,
    invites: new Counter({
      name: 'invitebus_invites_total',
      help: 'Invites that reached a terminal outcome',
      labelNames: ['account', 'provider', 'outcome'],
      registers: [registry],
    }),
    providerRequests: new Counter({
      name: 'invitebus_provider_requests_total',
      help: 'HTTP calls to providers, by status (or network error code)',
      labelNames: ['account', 'provider', 'status'],
      registers: [registry],
    }),
    rateLimitWaits: new Counter({
      name: 'invitebus_rate_limit_waits_total',
      help: 'Times an account queue was held for a rate limit',
      labelNames: ['account'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'invitebus_provider_request_duration_seconds',
      help: 'Duration of provider calls',
      labelNames: ['account', 'provider'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inviteLatency: new Histogram({
      name: 'invitebus_invite_latency_seconds',
      help: 'From enqueue to terminal outcome',
      labelNames: ['account', 'provider'],
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 21600, 86400],
      registers: [registry],
    }),
    callSlotLateness: new Histogram({
      name: 'invitebus_call_slot_lateness_seconds',
      help: 'How late a paced provider call started after its reserved slot (timers, event loop, GC); the pacing margin absorbs up to 0.03 s',
      labelNames: ['account'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
  };
}

/** How long a scrape waits for Redis before answering with what it has (the process's own metrics). */
const SCRAPE_REDIS_TIMEOUT_MS = 1_500;

/**
 * Adds gauges that read every account's queue from Redis at scrape time (one read per scrape). During a
 * Redis outage a scrape still answers within ~1.5 s: `invitebus_redis_up` 0 and no queue gauges.
 */
export function addQueueGauges(registry: Registry, producer: Producer): void {
  // The registry collects gauges concurrently: they share one read of the stats per scrape.
  let pending: Promise<AccountStats[] | undefined> | undefined;
  const snapshot = () => {
    const read = () =>
      !connectionLost(producer.redis)
        ? withTimeout<AccountStats[] | undefined>(accountStats(producer), SCRAPE_REDIS_TIMEOUT_MS).catch(() => undefined)
        : Promise.resolve(undefined);
    pending ??= read().finally(() => {
      setTimeout(() => {
        pending = undefined;
      }, 0);
    });
    return pending;
  };
  /** One field of every webhook endpoint's state hash, by endpoint; undefined when Redis cannot answer in time. */
  const webhookStates = async (field: string): Promise<Array<[string, string | null]> | undefined> => {
    const names = Object.keys(producer.config.webhooks);
    if (names.length === 0 || connectionLost(producer.redis)) return undefined;
    const keys = invitebusKeys(producer.config.redis.prefix);
    const values = await withTimeout(Promise.all(names.map((n) => producer.redis.hget(keys.webhookState(n), field))), SCRAPE_REDIS_TIMEOUT_MS).catch(
      () => undefined,
    );
    return values?.map((v, i) => [names[i] as string, v]);
  };
  new Gauge({
    name: 'invitebus_redis_up',
    help: '1 when Redis answered this scrape and no connection of this process is lost (a dead link not yet replaced), 0 otherwise; queue gauges are absent when Redis did not answer',
    registers: [registry],
    async collect() {
      const answered = (await snapshot()) !== undefined;
      this.set(answered && redisUp() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'invitebus_queue_jobs',
    help: 'Jobs per account and state',
    labelNames: ['account', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? [])
        for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed'] as const) this.set({ account: s.account, state }, s[state]);
    },
  });
  new Gauge({
    name: 'invitebus_account_paused',
    help: '1 when the account queue is paused',
    labelNames: ['account', 'reason'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) this.set({ account: s.account, reason: s.pausedReason ?? '' }, s.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'invitebus_queue_oldest_waiting_seconds',
    help: 'How long the oldest waiting invite of the account has waited (0 when none waits)',
    labelNames: ['account'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) this.set({ account: s.account }, s.oldestWaitingMs / 1000);
    },
  });
  new Gauge({
    name: 'invitebus_webhook_disabled',
    help: '1 when the webhook endpoint is disabled (its deliveries wait until enabled)',
    labelNames: ['webhook'],
    registers: [registry],
    async collect() {
      this.reset();
      const state = await webhookStates('disabled');
      for (const [webhook, disabled] of state ?? []) this.set({ webhook }, disabled === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'invitebus_webhook_failing_seconds',
    help: 'How long the webhook endpoint has failed without a success (0 when it delivers): past ~90 s its deliveries wait for the long retry schedule',
    labelNames: ['webhook'],
    registers: [registry],
    async collect() {
      this.reset();
      const state = await webhookStates('failingSince');
      for (const [webhook, since] of state ?? []) this.set({ webhook }, since ? Math.max(0, Date.now() - Number(since)) / 1000 : 0);
    },
  });
  new Gauge({
    name: 'invitebus_rate_limit_wait_seconds',
    help: 'Remaining rate-limit hold of the account',
    labelNames: ['account'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) this.set({ account: s.account }, s.rateLimitWaitMs / 1000);
    },
  });
}
