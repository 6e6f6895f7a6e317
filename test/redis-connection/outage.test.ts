import { describe, expect, it } from 'vitest';
import { isRedisUnreachable, OutageReporter } from '../../src/redis.ts';

/** What ioredis and Redis say while a Sentinel group or a Cluster fails over (seen in test/faults/failover.test.ts). */
const FAILOVER_ERRORS = [
  // a Sentinel client whose sentinels still name the dead primary
  'All sentinels are unreachable. Retrying from scratch after 200ms.',
  'All sentinels are unreachable. Retrying from scratch after 400ms. Last error: Connection is closed.',
  // a Cluster client (and BullMQ's commands on it) while the slot's owner is dead and before a replica took it
  'Too many Cluster redirections. Last error: ReplyError: MOVED 13431 127.0.0.1:20407',
  'CLUSTERDOWN The cluster is down',
  'CLUSTERDOWN Hash slot not served',
  'Failed to refresh slots cache.',
  // a node that restarted and is reading its data, or a demoted primary still answering
  'LOADING Redis is loading the dataset in memory',
  "READONLY You can't write against a read only replica.",
  // a connection whose handshake Redis refuses (a password rotated, an ACL user disabled): retried, said once
  'WRONGPASS invalid username-password pair or user is disabled.',
  'ERR No such master with that name',
];

describe('what counts as Redis being away', () => {
  it('the errors of a Sentinel or Cluster failover are an outage, logged once for the whole failover', () => {
    for (const message of FAILOVER_ERRORS) expect(isRedisUnreachable(new Error(message)), message).toBe(true);
    const lines: string[] = [];
    const reporter = new OutageReporter('Redis Cluster (127.0.0.1:7000)', {
      warn: (_obj, msg) => lines.push(`warn ${msg}`),
      info: (_obj, msg) => lines.push(`info ${msg}`),
    });
    for (const message of FAILOVER_ERRORS) expect(reporter.error(new Error(message))).toBe(true);
    expect(lines).toEqual(['warn Redis at Redis Cluster (127.0.0.1:7000) is unreachable; retrying until it answers']);
  });

  it('a command Redis refused is not', () => {
    for (const message of [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      "ERR unknown command 'FOO'",
      'NOSCRIPT No matching script. Please use EVAL.',
      'NOPERM User invitebus has no permissions to run the eval command',
    ]) {
      expect(isRedisUnreachable(new Error(message)), message).toBe(false);
    }
  });
});
