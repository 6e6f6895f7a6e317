/**
 * A Redis that refuses the password answers the handshake with an error naming the command it refused, arguments
 * included (HELLO 3 AUTH user PASSWORD): logged as is, that put the password in the worker's log (found by a new
 * user's trial of issue 22, 136 times in 8 s). The logger redacts it, and a worker says the refusal once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { captureLogs } from '../support/log-capture.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const user = `ib-logs-${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  await redis.admin.acl('DELUSER', user);
});

describe('a refused Redis password in the logs', () => {
  it('never appears, and a worker says the refusal once instead of an error per retry', { timeout: 60_000 }, async () => {
    await redis.admin.acl('SETUSER', user, 'on', '>the-right-password', '~*', '&*', '+@all');
    const wrong = `wrong-pass-${randomBytes(4).toString('hex')}`;
    const config = parseConfig({
      redis: { url: redis.url, username: user, password: { env: 'IB_PASS' }, prefix: redis.prefix },
      accounts: { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
      webhooks: {},
    });
    const { lines, logger } = captureLogs('info');
    const starting = runWorkers(config, { env: { IB_PASS: wrong, T: 't' }, logger, control: false });
    await waitFor(() => lines.some((l) => l.includes('WRONGPASS')), 10_000, 'the refusal in the log');
    await new Promise((r) => setTimeout(r, 2_000));
    const text = lines.join('');
    expect(text).not.toContain(wrong);
    expect(lines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.includes('is unreachable')).length).toBe(1);
    // The right password: the same workers start.
    await redis.admin.acl('SETUSER', user, 'on', `>${wrong}`);
    // Reconnects are ≤ 2 s apart; a suite's busiest minute has taken far longer: bounded, and the log said if not.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the workers did not start within 40 s of the right password; log:\n${lines.slice(-20).join('')}`)), 40_000);
    });
    const workers = await Promise.race([starting, late]).finally(() => clearTimeout(timer));
    await workers.close();
  });
});
