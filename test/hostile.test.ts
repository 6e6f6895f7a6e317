import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { Producer } from '../src/producer.ts';
import { providers } from '../src/providers/index.ts';
import { useRedis } from './support/redis.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
const producer = new Producer(
  parseConfig({
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: {
      bs: { provider: 'betterstack', baseUrl: 'https://betterstack.com', credentials: { token: { env: 'T' } } },
      cl: { provider: 'closient', orgId: 'NBQ8ukvDUEUcFfYpRwbm4W', credentials: { apiKey: { env: 'K' } } },
    },
  }),
  { redis: conn },
);
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

const HOSTILE_EMAILS = ['a@x.io\r\nBcc: all@x.io', 'a@x.io\nX-Injected: 1', 'a@x.io\u0000', 'Bcc: all@x.io', '<script>@x.io', '"a"@x.io', 'a@x.io;b@x.io'];

describe('hostile values are refused at validation, never sent', () => {
  for (const [id, adapter] of Object.entries(providers)) {
    it.each(HOSTILE_EMAILS)(`${id}: refuses the address %j`, (email) => {
      const base = id === 'stellas' ? { memberRoleId: 'r1' } : {};
      expect(adapter.inviteSchema.safeParse({ email, ...base }).success).toBe(false);
    });
  }

  it.each(['{"$gt":""}', '../../admin', 'member/../owner', 'member%2F..', 'member\r\nx'])('refuses the role %j wherever roles are named', (role) => {
    expect(providers.betterstack.inviteSchema.safeParse({ email: 'a@x.io', role }).success).toBe(false);
    expect(providers.closient.inviteSchema.safeParse({ email: 'a@x.io', role }).success).toBe(false);
    expect(providers.stellas.inviteSchema.safeParse({ email: 'a@x.io', role }).success).toBe(false);
    expect(providers.stellas.inviteSchema.safeParse({ email: 'a@x.io', memberRoleId: role }).success).toBe(false);
  });

  it.each(['NBQ8ukvDUEUcFfYpRwbm4W/..', '..%2F..%2Fadmin%2Fusers1', '/../../../../../../../x'])(
    'refuses the Closient org id %j when the config loads',
    (orgId) => {
      expect(() => parseConfig({ accounts: { c: { provider: 'closient', orgId, credentials: { apiKey: { env: 'K' } } } } })).toThrow(/orgId/);
    },
  );

  it('job data can never change where a request goes: unknown fields (baseUrl, url, path, ...) are dropped', async () => {
    const { id } = await producer.invite('bs', {
      email: 'a@example.com',
      baseUrl: 'http://evil.example',
      url: 'http://evil.example/x',
      path: '/admin',
      headers: { x: 1 },
      __proto__: { polluted: true },
    });
    const job = await producer.queue('bs').getJob(id);
    expect(job?.data.invite).toEqual({ email: 'a@example.com', role: 'responder' });
    expect(JSON.stringify(job?.data)).not.toContain('evil');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const built = providers.betterstack.inviteSchema.parse({ email: 'b@example.com', baseUrl: 'http://evil.example' });
    expect(Object.keys(built)).toEqual(['email', 'role']);
  });
});
