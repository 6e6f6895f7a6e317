/** The process-level reloader without workers (`serve` alone): the API's producer takes the new accounts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath, loadConfig } from '../src/config/load.ts';
import { Producer } from '../src/producer.ts';
import { createReloader } from '../src/reload.ts';
import { captureLogs } from './support/log-capture.ts';
import { useRedis } from './support/redis.ts';
import { tempDir } from './support/temp-dir.ts';

const redis = useRedis(import.meta.url);

describe('config reload in serve without workers', () => {
  it('gives the producer the new accounts, refuses what needs a restart, one log line each', async () => {
    const file = join(tempDir('ib-reload-'), 'invitebus.config.json');
    const write = (extra: Record<string, unknown>, accounts: string[]) =>
      writeFileSync(
        file,
        JSON.stringify({
          redis: { url: redis.url, prefix: redis.prefix },
          ...extra,
          accounts: Object.fromEntries(
            accounts.map((a) => [a, { provider: 'betterstack', baseUrl: 'http://127.0.0.1:1', credentials: { token: { env: 'BS_TOKEN' } } }]),
          ),
        }),
      );
    write({}, ['acme']);
    const load = () => loadConfig(configPath(file, {}));
    const connection = redis.connect();
    const producer = new Producer(load(), { redis: connection });
    const { lines, logger } = captureLogs('info');
    const reloader = createReloader({ config: producer.config, load, env: {}, logger, producer });
    try {
      write({}, ['acme', 'beta']);
      expect(await reloader.reload()).toMatchObject({ applied: true, added: ['beta'], unchanged: ['acme'] });
      expect(Object.keys(producer.config.accounts)).toEqual(['acme', 'beta']);
      await producer.invite('beta', { email: 'x@example.com' });

      write({ worker: { lockDurationMs: 5_000 } }, ['acme']);
      const refused = await reloader.reload();
      expect(refused).toMatchObject({ applied: false, problems: [expect.stringMatching(/^worker\.lockDurationMs changed, which needs a restart/)] });
      expect(Object.keys(producer.config.accounts)).toEqual(['acme', 'beta']);
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
        'config reloaded: added beta (1 unchanged)',
        expect.stringMatching(/^config reload refused, the running config is kept: worker\.lockDurationMs changed, which needs a restart/),
      ]);
    } finally {
      await producer.close();
      await connection.quit();
    }
  });
});
