/**
 * The script wrappers (src/redis-scripts/*.ts): each one builds exactly the KEYS its `.lua` reads and the registry
 * declares, and maps the script's answers to named results.
 */
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { cancelInvite } from '../../src/redis-scripts/cancel-invite.ts';
import type { ScriptDef } from '../../src/redis-scripts/define.ts';
import { ENROLL, ENROLL_FIXED_KEYS, enrollInvites } from '../../src/redis-scripts/enroll-invites.ts';
import { SCRIPTS, type ScriptName, scripts } from '../../src/redis-scripts/index.ts';
import { correctionAction, MOVE_RESULT, moveFailure, moveFailureScript } from '../../src/redis-scripts/move-failure.ts';
import { paceCall } from '../../src/redis-scripts/pace-call.ts';
import { recordTerminal } from '../../src/redis-scripts/record-terminal.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
const queue = new Queue('acme', { connection: conn, prefix: redis.prefix });
afterAll(async () => {
  await queue.close();
  await conn.quit();
});

const prefix = redis.prefix;
const action = correctionAction();
/** A sample of each script's named fields. */
const samples: { [N in ScriptName]: Parameters<ReturnType<typeof scripts>[N]>[0] } = {
  enrollInvites: { prefix, queue, account: 'acme', batchId: 'b', ttlMs: 1000, writerId: 'w', heartbeatMs: 1000, mode: 'enroll', jobIds: ['j1', 'j2'] },
  recordTerminal: {
    prefix,
    account: 'acme',
    inviteId: 'j1',
    enqueuedAt: 1,
    batchId: 'b',
    recordedJson: '{"kind":"invited"}',
    kind: 'invited',
    reasonClass: '',
    ttlMs: 1000,
    maxLen: 100,
    minute: 1,
    eventFields: ['type', 'invite.succeeded'],
  },
  unrecordTerminal: { prefix, account: 'acme', inviteId: 'j1', enqueuedAt: 1, batchId: 'b' },
  moveFailure: { prefix, queue, account: 'acme', jobId: 'j1', enqueuedAt: 1, batchId: 'b', action, ttlMs: 1000, mode: 'forget' },
  endAction: { prefix, actionId: 'a', ttlMs: 1000 },
  recountBatch: { prefix, batchId: 'b', mode: 'check', maxLen: 100 },
  sealBatch: { prefix, batchId: 'b', writerId: 'w', mode: 'seal', maxLen: 100 },
  paceCall: { prefix, queue, rate: 1, holdCount: 1000, margin: 1.03, mode: 'reserve', max: 1, durationMs: 1000 },
  adaptRate: { rateKey: `${prefix}:_invitebus:paced-rate:acme`, limit: 2, op: 'lower', rate: 1, because: 'rate_limited' },
  claimPause: { prefix, account: 'acme', fields: { reason: 'auth' } },
  markSeen: { runKey: `${prefix}:run`, ttlMs: 1000, entries: [{ id: 'j1', index: 0 }] },
  cancelInvite: {
    prefix,
    queue,
    jobId: 'j1',
    batchId: 'b',
    enqueuedAt: 1,
    mode: 'check',
    recordedJson: '{"kind":"cancelled"}',
    ttlMs: 1000,
    maxLen: 100,
    eventFields: ['inviteId', 'j1'],
  },
  rescheduleInvite: { prefix, queue, account: 'acme', jobId: 'j1', batchId: 'b', expectedData: '{}', data: '{}', scheduledFor: 2, now: 1, ttlMs: 1000 },
  queuesWithWork: { prefix, accounts: ['acme', 'beta'] },
  popMarkers: { prefix, accounts: ['acme', 'beta'] },
};

/** Scripts with a variable key count: their fixed keys, and how many keys each sample's items add. */
const variable: Partial<Record<ScriptName, { fixed: number; perSample: number }>> = {
  // a job key and a sent-record key per invite
  enrollInvites: { fixed: ENROLL_FIXED_KEYS, perSample: 2 * samples.enrollInvites.jobIds.length },
  queuesWithWork: { fixed: 0, perSample: 10 },
  popMarkers: { fixed: 0, perSample: 2 },
};

/** The highest `KEYS[n]` the script's own text reads (not its includes: they are called with its keys). */
function highestKey(file: string): number {
  const text = readFileSync(new URL(`../../src/redis-scripts/${file}.lua`, import.meta.url), 'utf8');
  return Math.max(0, ...[...text.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
}

describe('script wrappers', () => {
  for (const [name, def] of Object.entries(SCRIPTS) as Array<[ScriptName, ScriptDef<unknown, unknown>]>) {
    it(`${name}: builds the KEYS its .lua reads and the registry declares`, () => {
      const { keys, args } = def.encode(samples[name]);
      const declared = def.keys === 'variable' ? (variable[name]?.fixed ?? -1) : def.keys;
      expect(highestKey(def.file)).toBe(declared);
      const perItem = def.keys === 'variable' ? (variable[name]?.perSample ?? -1) : 0;
      expect(keys).toHaveLength(declared + perItem);
      expect([...keys, ...args].every((v) => typeof v === 'string')).toBe(true);
      // Every key is under the prefix (a key built from the wrong field would not be).
      expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true);
    });
  }

  it('enroll-invites pairs each job key with its ref in the same order', () => {
    const { keys, args } = enrollInvites.encode(samples.enrollInvites);
    expect(keys.slice(ENROLL_FIXED_KEYS)).toEqual([
      queue.toKey('j1'),
      queue.toKey('j2'),
      `${prefix}:_invitebus:sent:acme:j1`,
      `${prefix}:_invitebus:sent:acme:j2`,
    ]);
    expect(args.slice(6)).toEqual(['acme/j1', 'acme/j2']);
  });

  it('maps result codes to names, and refuses an unknown one', () => {
    expect(moveFailureScript.decode(1)).toBe('moved');
    expect(Object.values(MOVE_RESULT)).toEqual(['not_failed', 'moved', 'failed_since_start', 'not_recorded']);
    expect(() => moveFailureScript.decode(9)).toThrow(/move-failure answered 9/);
    expect(paceCall.decode([1, 250])).toEqual({ result: 'held', ms: 250 });
    expect(paceCall.decode([2, 5])).toEqual({ result: 'too_soon', ms: 5 });
    expect(() => paceCall.decode([7, 0])).toThrow(/pace-call answered 7/);
    expect(recordTerminal.decode(0)).toEqual({ written: false, writerLiveMs: 0 });
    expect(recordTerminal.decode(1)).toEqual({ written: true, writerLiveMs: 0 });
    expect(recordTerminal.decode(4000)).toEqual({ written: true, writerLiveMs: 4000 });
    expect(enrollInvites.decode([4, '1'])).toEqual([ENROLL.noJob, ENROLL.enrolled]);
    expect(cancelInvite.decode(['cancelled', 'delayed', 250])).toEqual({ result: 'cancelled', previous: 'delayed', writerLiveMs: 250 });
    expect(cancelInvite.decode(['completed', '1700000000000', 0])).toEqual({ result: 'completed', finishedAt: 1_700_000_000_000 });
    expect(cancelInvite.decode(['gone', '', 0])).toEqual({ result: 'gone' });
    expect(() => cancelInvite.decode(['cancelled', 'active', 0])).toThrow(/cancel-invite answered cancelled active/);
  });

  it('runs on a real Redis with named fields: a job that never failed is not moved', async () => {
    expect(await moveFailure(conn, prefix, samples.moveFailure)).toBe('not_failed');
    const s = scripts(conn);
    expect(await s.claimPause(samples.claimPause)).toBe(true);
    expect(await s.claimPause(samples.claimPause)).toBe(false);
    expect(
      await s.markSeen({
        ...samples.markSeen,
        entries: [
          { id: 'x', index: 0 },
          { id: 'x', index: 3 },
        ],
      }),
    ).toEqual([-1, 0]);
  });
});
