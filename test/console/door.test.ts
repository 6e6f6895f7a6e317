/**
 * The browser door against a hostile user (issue 20, case 8): `next` never leaves the site, console pages cannot
 * be framed and run only their own code, wrong bearer tokens are rate-limited per address, logout ends the
 * session on the server (for every session), and the cookie is `Secure` behind a TLS-terminating proxy.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { formCsrf, injectBrowser } from '../support/inject-browser.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'door-admin-token-0123456789';
const READ = 'door-read-only-token-0123456789';
const ORIGIN = 'http://console.invalid';
const conn = redis.connect();
const apps: FastifyInstance[] = [];
const producers: Producer[] = [];

async function api(options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const config = parseConfig({
    redis: { url: redis.url, prefix: redis.prefix },
    api: { loginsPerMinute: 1000, failedTokensPerMinute: 10, ...options },
    accounts: { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
  });
  const producer = new Producer(config, { redis: conn });
  producers.push(producer);
  const app = await buildApi({ producer, token: TOKEN, readOnlyTokens: [READ], registry: createMetrics().registry });
  apps.push(app);
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  app = await api();
});
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const p of producers) await p.close();
  await conn.quit();
});

/** Where a browser on the console's origin goes for a Location header (WHATWG URL parsing, as Chromium does). */
const landing = (location: unknown) => new URL(String(location), ORIGIN);
const unescapeHtml = (s: string) =>
  s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

describe('next after login', () => {
  // Raw query strings as an attacker writes them in a link to /login.
  const hostile = [
    '/%09/other-host',
    '/%0A/other-host',
    '/%0D%0A/other-host',
    '//other-host',
    '/%2F/other-host',
    '/\\other-host',
    '/%5Cother-host',
    '%5C%5Cother-host',
    '/.//other-host',
    '/x/..//other-host',
    '/%2e%2e//other-host',
    'javascript:alert(1)',
    'JaVaScRiPt%3Aalert(1)',
    'https://other-host/',
    'http:other-host',
    '%20//other-host',
    'data:text/html,hi',
    '',
  ];

  it.each(hostile)('GET /login?next=%s, then logging in, stays on the site', async (raw) => {
    const b = injectBrowser(app, '10.1.0.1');
    const form = await b.get(`/login?next=${raw}`);
    expect(form.statusCode).toBe(200);
    const next = unescapeHtml(/name="next" value="([^"]*)"/.exec(form.body)?.[1] ?? '');
    const res = await b.post('/login', { token: TOKEN, _csrf: formCsrf(form.body), next }, {}, true);
    expect(res.statusCode).toBe(303);
    expect(landing(res.headers.location).origin).toBe(ORIGIN);
    expect(res.headers.location).toBe('/console');
  });

  it('keeps an odd but same-origin path as the browser would read it (percent-encoded)', async () => {
    const b = injectBrowser(app, '10.1.0.1');
    const form = await b.get('/login?next=/%E3%80%80/other-host');
    const next = unescapeHtml(/name="next" value="([^"]*)"/.exec(form.body)?.[1] ?? '');
    const res = await b.post('/login', { token: TOKEN, _csrf: formCsrf(form.body), next }, {}, true);
    expect(res.headers.location).toBe('/%E3%80%80/other-host');
    expect(landing(res.headers.location).origin).toBe(ORIGIN);
  });

  it.each(['/\t/other-host', '/\\/other-host', '\\\\other-host', '/ /other-host'.replace(' ', '\n')])('a posted next %j stays on the site', async (next) => {
    const b = injectBrowser(app, '10.1.0.2');
    const form = await b.get('/login');
    const res = await b.post('/login', { token: TOKEN, _csrf: formCsrf(form.body), next }, {}, true);
    expect(landing(res.headers.location).origin).toBe(ORIGIN);
    expect(res.headers.location).toBe('/console');
  });

  it.each([
    ['/console/people?email=a%40example.com', '/console/people?email=a%40example.com'],
    ['/console/batches/team-1?summary=done#people', '/console/batches/team-1?summary=done#people'],
    ['/dashboard', '/dashboard'],
    ['/console/batches/a%2Fb', '/console/batches/a%2Fb'],
  ])('keeps a path on the site: %s', async (next, expected) => {
    const res = await injectBrowser(app, '10.1.0.3').login(TOKEN, next);
    expect(res.headers.location).toBe(expected);
  });
});

describe('framing and content security', () => {
  it('console pages forbid framing and run only their own script and style', async () => {
    const b = injectBrowser(app, '10.2.0.1');
    await b.login(TOKEN);
    for (const path of ['/login', '/console', '/console/people?email=a@example.com', '/console/batches/none', '/console/fragments/accounts']) {
      const res = await b.get(path);
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      const csp = String(res.headers['content-security-policy']);
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toMatch(/script-src 'self'(;|$)/);
      expect(csp, path).toMatch(/style-src 'self'(;|$)/);
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("form-action 'self'");
    }
    // The console renders no inline style a strict CSP would drop (the progress bars are SVG).
    expect((await b.get('/console')).body).not.toMatch(/style="/);
  });

  it('the other pages cannot be framed either', async () => {
    const b = injectBrowser(app, '10.2.0.2');
    await b.login(TOKEN);
    for (const path of ['/docs/', '/dashboard', '/v1/stats', '/healthz']) {
      const res = await b.get(path);
      expect(res.headers['x-frame-options'], path).toBe('DENY');
    }
  });
});

describe('wrong bearer tokens', () => {
  it('are rate-limited per client address; the right token and other addresses are never held', async () => {
    const wrong = { authorization: 'Bearer not-the-token' };
    const codes: number[] = [];
    for (let i = 0; i < 2_000; i++) codes.push((await app.inject({ url: '/v1/stats', headers: wrong, remoteAddress: '10.3.0.1' })).statusCode);
    const limited = codes.filter((c) => c === 429).length;
    process.stdout.write(`2,000 wrong tokens from one address: ${limited} limited\n`);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(limited).toBe(1_990);
    const held = await app.inject({ url: '/v1/invites/x', headers: wrong, remoteAddress: '10.3.0.1' });
    expect(held.headers['retry-after']).toBeDefined();
    expect(held.json()).toMatchObject({ error: 'too_many_requests' });
    // The right token from the same address still works; another address is not held.
    const right = { authorization: `Bearer ${TOKEN}` };
    expect((await app.inject({ url: '/v1/stats', headers: right, remoteAddress: '10.3.0.1' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/stats', headers: wrong, remoteAddress: '10.3.0.2' })).statusCode).toBe(401);
  });

  it('never limits successful calls', async () => {
    const right = { authorization: `Bearer ${READ}` };
    const codes: number[] = [];
    for (let i = 0; i < 500; i++) codes.push((await app.inject({ url: '/healthz', headers: right, remoteAddress: '10.3.0.3' })).statusCode);
    for (let i = 0; i < 500; i++) codes.push((await app.inject({ url: '/v1/webhooks', headers: right, remoteAddress: '10.3.0.3' })).statusCode);
    expect(codes.filter((c) => c !== 200)).toEqual([]);
  });
});

describe('sessions', () => {
  it('end on the server at logout: the old cookie no longer works', async () => {
    const b = injectBrowser(app, '10.4.0.1');
    await b.login(TOKEN);
    const cookie = `invitebus_session=${b.jar.get('invitebus_session')}`;
    expect((await app.inject({ url: '/console', headers: { cookie }, remoteAddress: '10.4.0.1' })).statusCode).toBe(200);
    const out = await b.logout();
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/login');
    // Someone who copied the cookie before logout (or a browser that ignores the clearing) is refused.
    const replayed = await app.inject({ url: '/console', headers: { cookie }, remoteAddress: '10.4.0.1' });
    expect(replayed.statusCode).toBe(302);
    expect(replayed.headers.location).toBe('/login?next=%2Fconsole');
    expect((await app.inject({ url: '/v1/stats', headers: { cookie }, remoteAddress: '10.4.0.1' })).statusCode).toBe(401);
  });

  it('of a read-only token can log out too', async () => {
    const b = injectBrowser(app, '10.4.0.2');
    expect((await b.login(READ)).statusCode).toBe(303);
    const cookie = `invitebus_session=${b.jar.get('invitebus_session')}`;
    const out = await b.logout();
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/login');
    expect((await app.inject({ url: '/console', headers: { cookie }, remoteAddress: '10.4.0.2' })).statusCode).toBe(302);
  });

  it('logging out twice, or without a session, just lands on the login page', async () => {
    const b = injectBrowser(app, '10.4.0.3');
    await b.login(TOKEN);
    const page = await b.get('/console');
    expect((await b.post('/logout', { _csrf: formCsrf(page.body) }, {}, true)).headers.location).toBe('/login');
    const again = await b.post('/logout', { _csrf: formCsrf(page.body) }, {}, true);
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe('/login');
  });

  it('keep no secret in Redis: the session key is a hash of the cookie', async () => {
    const b = injectBrowser(app, '10.4.0.4');
    await b.login(TOKEN);
    const id = String(b.jar.get('invitebus_session')).split('.')[0] as string;
    const keys = await redis.admin.keys(`${redis.prefix}:_invitebus:session:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).not.toContain(id);
    const values = await Promise.all(keys.map((k) => redis.admin.get(k)));
    for (const v of values) expect(v).not.toContain(id);
  });
});

describe('behind a TLS-terminating proxy (api.trustProxy)', () => {
  it('sets a Secure cookie when the trusted proxy says https; not for an untrusted client claiming it', async () => {
    const proxied = await api({ trustProxy: ['127.0.0.1'] });
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
    const viaProxy = await injectBrowser(proxied, '127.0.0.1', https).login(TOKEN);
    expect(viaProxy.statusCode).toBe(303);
    expect(viaProxy.cookies.find((c) => c.name === 'invitebus_session')?.secure).toBe(true);
    const spoofed = await injectBrowser(proxied, '10.5.0.1', https).login(TOKEN);
    expect(spoofed.cookies.find((c) => c.name === 'invitebus_session')?.secure).toBeFalsy();
    // Without the setting, the header is ignored (the proxy's own address would be every client's).
    const plain = await injectBrowser(app, '127.0.0.1', https).login(TOKEN);
    expect(plain.cookies.find((c) => c.name === 'invitebus_session')?.secure).toBeFalsy();
  });

  it('limits wrong tokens per client behind the proxy, not per proxy', async () => {
    const proxied = await api({ trustProxy: ['127.0.0.1'] });
    const from = (client: string) => ({ authorization: 'Bearer nope', 'x-forwarded-for': client });
    for (let i = 0; i < 10; i++) await proxied.inject({ url: '/v1/stats', headers: from('203.0.113.1'), remoteAddress: '127.0.0.1' });
    expect((await proxied.inject({ url: '/v1/stats', headers: from('203.0.113.1'), remoteAddress: '127.0.0.1' })).statusCode).toBe(429);
    expect((await proxied.inject({ url: '/v1/stats', headers: from('203.0.113.2'), remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
  });

  it('rejects a trustProxy that is not a list of addresses or CIDR ranges, naming the field', () => {
    const base = { redis: { url: redis.url }, accounts: {} };
    expect(() => parseConfig({ ...base, api: { trustProxy: ['not an address'] } })).toThrow(/api\.trustProxy/);
    expect(() => parseConfig({ ...base, api: { trustProxy: ['10.0.0.0/33'] } })).toThrow(/api\.trustProxy/);
    expect(parseConfig({ ...base, api: { trustProxy: ['10.0.0.0/8', '::1', 'loopback'] } }).api.trustProxy).toEqual(['10.0.0.0/8', '::1', 'loopback']);
    expect(() => parseConfig({ ...base, api: { trustProxy: true } })).toThrow(/api\.trustProxy/);
    expect(() => parseConfig({ ...base, api: { trustProxy: 1 } })).toThrow(/api\.trustProxy/);
    expect(parseConfig(base).api.trustProxy).toBe(false);
  });
});
