import { describe, expect, it } from 'vitest';
import { providers } from '../src/providers/index.ts';
import { captureLogs } from './support/log-capture.ts';

const capture = () => captureLogs('debug');

describe('logger', () => {
  it('redacts credentials and auth headers wherever they appear', () => {
    const { lines, logger } = capture();
    const child = logger.child({ account: 'acme', provider: 'betterstack', jobId: 'inv-1', attempt: 2 });
    child.info({ credentials: { token: 'tok-AAA' } }, 'one');
    child.info({ account: { credentials: { token: 'tok-BBB' } } }, 'two');
    child.info({ request: { headers: { authorization: 'Bearer tok-CCC', 'x-api-key': 'key-DDD', SECRET_KEY: 'sk-EEE' } } }, 'three');
    child.info({ session: { accessToken: 'jwt-FFF', password: 'pw-GGG', apiKey: 'key-HHH', secretKey: 'sk-III' } }, 'four');
    const text = lines.join('');
    for (const secret of ['tok-AAA', 'tok-BBB', 'tok-CCC', 'key-DDD', 'sk-EEE', 'jwt-FFF', 'pw-GGG', 'key-HHH', 'sk-III']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it("redacts every provider's declared secret headers and credential names", () => {
    const { lines, logger } = capture();
    for (const adapter of Object.values(providers)) {
      for (const header of adapter.secretHeaders) logger.info({ request: { headers: { [header]: `hdr-${adapter.id}-${header}` } } }, 'h');
      const credentials = (adapter.settingsSchema as unknown as { shape: { credentials: { shape: Record<string, unknown> } } }).shape.credentials.shape;
      for (const name of Object.keys(credentials)) logger.info({ session: { [name]: `cred-${adapter.id}-${name}` } }, 'c');
    }
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    expect(text).not.toMatch(/hdr-|cred-/);
  });

  it('writes JSON lines with the fixed child keys', () => {
    const { lines, logger } = capture();
    logger.child({ account: 'acme', provider: 'betterstack' }).child({ jobId: 'inv-1', attempt: 1 }).warn('hello');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 40, account: 'acme', provider: 'betterstack', jobId: 'inv-1', attempt: 1, msg: 'hello' });
  });
});
