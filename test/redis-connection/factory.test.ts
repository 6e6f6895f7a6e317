import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { InvitebusError } from '../../src/errors.ts';
import { connectRedis, describeRedis, openRedis, redisSecretProblems } from '../../src/redis-connection/factory.ts';
import { useRedis } from '../support/redis.ts';
import { startTlsRedis } from '../support/redis-topologies.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const account = { provider: 'betterstack', credentials: { token: { env: 'BS_TOKEN' } }, teamName: 'Acme' };

function problems(input: Record<string, unknown>): string[] {
  try {
    parseConfig({ accounts: { acme: account }, ...input });
  } catch (error) {
    expect((error as InvitebusError).code).toBe('CONFIG_INVALID');
    return [...(error as InvitebusError).details];
  }
  return [];
}

describe('the redis section of the config', () => {
  it('accepts a URL, a Sentinel group or a Cluster, with credentials by reference', () => {
    expect(problems({ redis: { url: 'rediss://cache.internal:6380', username: 'invitebus', password: { env: 'REDIS_PASSWORD' } } })).toEqual([]);
    expect(
      problems({
        redis: { sentinels: ['10.0.0.1:26379', { host: '10.0.0.2', port: 26379 }], name: 'ib-main', sentinelPassword: { file: 'sentinel.pass' } },
      }),
    ).toEqual([]);
    expect(problems({ redis: { cluster: { nodes: ['10.0.0.1:7000'], natMap: { '10.0.0.1:7000': '127.0.0.1:7000' } }, prefix: '{invitebus}' } })).toEqual([]);
    expect(
      problems({ redis: { tls: { ca: { file: 'ca.pem' }, cert: { file: 'c.pem' }, key: { env: 'REDIS_TLS_KEY' }, servername: 'redis.internal' } } }),
    ).toEqual([]);
  });

  it('names each wrong combination and how to fix it', () => {
    expect(problems({ redis: { sentinels: ['a:1'] } })).toEqual([expect.stringMatching(/^redis\.name: required with sentinels/)]);
    expect(problems({ redis: { cluster: { nodes: ['a:1'] } } })).toEqual([expect.stringMatching(/^redis\.prefix: .*braces, e\.g\. "\{invitebus\}"/)]);
    expect(problems({ redis: { cluster: { nodes: ['a:1'] }, prefix: '{ib}', url: 'redis://x:1' } })).toEqual([
      expect.stringMatching(/^redis\.url: not used with cluster.*unset REDIS_URL/),
    ]);
    expect(problems({ redis: { cluster: { nodes: ['a:1'] }, prefix: '{ib}', sentinels: ['a:1'], name: 'm' } })).toContain(
      'redis.cluster: give either sentinels or cluster, not both',
    );
    expect(problems({ redis: { url: 'redis://u:secret@x:1', password: { env: 'P' } } })).toEqual([
      'redis.password: the url carries a password already: give it in one place',
    ]);
    expect(problems({ redis: { sentinels: ['no-port'], name: 'm' } })).toEqual([expect.stringMatching(/^redis\.sentinels\.0: must be "host:port"/)]);
  });

  it('refuses a literal password: secrets come from the environment or a file', () => {
    const found = problems({ redis: { password: 'hunter2' } });
    expect(found).toEqual([expect.stringMatching(/^redis\.password: a literal secret is not allowed/)]);
    expect(found.join(' ')).not.toContain('hunter2');
  });

  it('describes where Redis is without any password', () => {
    const at = (r: Record<string, unknown>) => describeRedis(parseConfig({ accounts: { acme: account }, redis: r }).redis);
    expect(at({ url: 'redis://user:s3cret@cache:6379/2' })).toBe('redis://user:***@cache:6379/2');
    expect(at({ sentinels: ['s1:26379', 's2:26379'], name: 'ib-main', password: { env: 'X' } })).toBe("Sentinel group 'ib-main' (s1:26379, s2:26379)");
    expect(at({ cluster: { nodes: ['n1:7000'] }, prefix: '{ib}' })).toBe('Redis Cluster (n1:7000)');
    expect(at({})).toBe('redis://127.0.0.1:6379');
  });
});

describe('connections made from the config', () => {
  const user = `ib-${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(12).toString('hex');
  afterAll(async () => {
    await redis.admin.acl('DELUSER', user);
  });

  it('reach Redis as an ACL user whose password is read from a file', async () => {
    await redis.admin.acl('SETUSER', user, 'on', `>${secret}`, '~*', '&*', '+@all');
    const dir = tempDir('ib-redis-secret-');
    writeFileSync(join(dir, 'redis.pass'), `${secret}\n`);
    const config = parseConfig({ accounts: { acme: account }, redis: { url: redis.url, username: user, password: { file: 'redis.pass' } } }, dir);
    const client = connectRedis(config, 'producer');
    try {
      expect(await client.acl('WHOAMI')).toBe(user);
    } finally {
      client.disconnect();
    }
  });

  it("a wrong password fails with Redis's answer, never the password", async () => {
    const config = parseConfig({ accounts: { acme: account }, redis: { url: redis.url, username: user, password: { env: 'IB_TEST_PASS' } } });
    const error = await openRedis(config, { env: { IB_TEST_PASS: 'not-the-password' }, deadlineMs: 1_000 }).then(
      (c) => {
        c.disconnect();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvitebusError);
    expect((error as Error).message).toMatch(/refused invitebus's credentials \(WRONGPASS\): check redis\.username and redis\.password/);
    expect(String((error as Error).message)).not.toContain('not-the-password');
    expect(String((error as Error & { cause?: Error }).cause?.message)).toMatch(/WRONGPASS|invalid username-password/);
  });

  it('a secret that cannot be read is a start-up problem naming the field and the fix', () => {
    const config = parseConfig({
      accounts: { acme: account },
      redis: { url: redis.url, password: { env: 'IB_NO_SUCH_VAR' }, tls: { ca: { file: 'missing-ca.pem' } } },
    });
    expect(redisSecretProblems(config, {})).toEqual([
      'redis.password: set the environment variable IB_NO_SUCH_VAR',
      expect.stringMatching(/^redis\.tls\.ca: cannot read file .*missing-ca\.pem \(ENOENT\)$/),
    ]);
    expect(() => connectRedis(config, 'worker', { env: {} })).toThrow(/redis\.password: set the environment variable IB_NO_SUCH_VAR/);
  });
});

describe('TLS', () => {
  it('reaches a TLS-only Redis as an ACL user with a client certificate, every PEM and the password by reference', async () => {
    const dir = tempDir('ib-redis-tls-');
    const server = await startTlsRedis({ dir, aclUser: 'invitebus', password: 'tls-pass-123', clientCerts: 'yes' });
    try {
      const config = parseConfig(
        {
          accounts: { acme: account },
          redis: {
            url: server.url,
            username: 'invitebus',
            password: { env: 'IB_REDIS_PASS' },
            tls: { ca: { file: 'ca.pem' }, cert: { file: 'client.pem' }, key: { env: 'IB_REDIS_KEY' } },
          },
        },
        server.certs.dir,
      );
      const env = { IB_REDIS_PASS: 'tls-pass-123', IB_REDIS_KEY: server.certs.clientKey };
      const client = await openRedis(config, { env });
      try {
        expect(await client.acl('WHOAMI')).toBe('invitebus');
      } finally {
        client.disconnect();
      }
      // Without the client certificate the server refuses the handshake: the certificate really was sent.
      const noCert = parseConfig(
        { accounts: { acme: account }, redis: { url: server.url, username: 'invitebus', password: { env: 'IB_REDIS_PASS' }, tls: { ca: { file: 'ca.pem' } } } },
        server.certs.dir,
      );
      await expect(openRedis(noCert, { env, deadlineMs: 1_000 })).rejects.toThrow(/cannot reach Redis at rediss:\/\/127\.0\.0\.1/);
    } finally {
      await server.destroy();
    }
  });
});

describe('credentials in the URL and by reference together', () => {
  it("a URL naming the user and a password by reference: the password is sent (the docs' managed example)", async () => {
    const user = `ib-url-${randomBytes(3).toString('hex')}`;
    await redis.admin.acl('SETUSER', user, 'on', '>url-user-pass-1', '~*', '&*', '+@all');
    try {
      const at = new URL(redis.url);
      const config = parseConfig({ accounts: { acme: account }, redis: { url: `redis://${user}@${at.host}`, password: { env: 'IB_URL_PASS' } } });
      const client = await openRedis(config, { env: { IB_URL_PASS: 'url-user-pass-1' } });
      try {
        expect(await client.acl('WHOAMI')).toBe(user);
      } finally {
        client.disconnect();
      }
    } finally {
      await redis.admin.acl('DELUSER', user);
    }
  });
});

describe('a one-shot command against sentinels that cannot answer', () => {
  it('fails within its deadline with one line naming the Sentinel settings (it hung forever)', async () => {
    const config = parseConfig({ accounts: { acme: account }, redis: { sentinels: ['127.0.0.1:1', '127.0.0.1:2'], name: 'ib-main' } });
    const started = Date.now();
    const error = await openRedis(config, { deadlineMs: 1_000 }).then(
      (c) => {
        c.disconnect();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^cannot reach Redis at Sentinel group 'ib-main' \(127\.0\.0\.1:1, 127\.0\.0\.1:2\): check redis\.sentinels, redis\.name and redis\.sentinelPassword$/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
