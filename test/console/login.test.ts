/**
 * A way in for people (issue: operator's console): /login sets a signed, HttpOnly, SameSite=Strict session
 * cookie; browser writes need the CSRF token; read-only tokens can look only; failed logins are rate-limited;
 * /logout ends the session. Machines keep using Bearer.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { injectBrowser } from '../support/inject-browser.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'console-admin-token-0123456789';
const READ = 'console-read-only-token-0123456789';
let app: FastifyInstance;
let producer: Producer;
const conn = redis.connect();

beforeAll(async () => {
  const config = parseConfig({
    redis: { url: redis.url, prefix: redis.prefix },
    api: { loginsPerMinute: 5 },
    accounts: { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
  });
  producer = new Producer(config, { redis: conn });
  app = await buildApi({ producer, token: TOKEN, readOnlyTokens: [READ], registry: createMetrics().registry });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await conn.quit();
});

const browser = (ip = '10.0.0.1') => injectBrowser(app, ip);

describe('logging in', () => {
  it('sets a signed HttpOnly SameSite=Strict session cookie with an expiry and lands on the page asked for', async () => {
    const b = browser();
    const res = await b.login(TOKEN, '/console/people?email=a@example.com');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/people?email=a@example.com');
    const session = res.cookies.find((c) => c.name === 'invitebus_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session?.expires?.getTime()).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    expect(session?.value).toMatch(/\.[A-Za-z0-9+/_-]+=*$/); // signed
    const console = await b.get('/console');
    expect(console.statusCode).toBe(200);
    expect(console.body).toContain('<h2>Accounts</h2>');
    expect(console.body).toContain('data-account="acme"');
    expect((await b.get('/docs/json')).statusCode).toBe(200);
    // Error pages keep their status.
    expect((await b.get('/console/batches/no-such-onboarding')).statusCode).toBe(404);
    expect((await b.get('/console/people?email=not-an-address')).statusCode).toBe(400);
    // A forged cookie (the value changed, the signature kept) is no session.
    const forged = browser();
    const value = session?.value ?? '';
    forged.jar.set('invitebus_session', `${value[0] === 'A' ? 'B' : 'A'}${value.slice(1)}`);
    expect((await forged.get('/console')).statusCode).toBe(302);
  });

  it('refuses a wrong token, a missing CSRF token and an open redirect', async () => {
    const b = browser('10.0.0.2');
    const wrong = await b.login('not-the-token');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('That token is not valid.');
    const noCsrf = await b.post('/login', { token: TOKEN, next: '/console' }, {}, true);
    expect(noCsrf.statusCode).toBe(403);
    const offsite = await b.login(TOKEN, '//evil.example/');
    expect(offsite.headers.location).toBe('/console');
  });

  it('rate-limits logins per client address', async () => {
    const b = browser('10.0.0.3');
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await b.login('wrong')).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429]);
    // Another address is not held.
    expect((await browser('10.0.0.4').login(TOKEN)).statusCode).toBe(303);
  });
});

describe('a session', () => {
  it("writes need the session's CSRF token; a bearer token needs none", async () => {
    const b = browser('10.0.1.1');
    await b.login(TOKEN);
    const page = await b.get('/console');
    const refused = await b.post('/v1/accounts/acme/pause', {});
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('forbidden');
    const paused = await b.post('/v1/accounts/acme/pause', {}, { 'x-csrf-token': b.csrfOf(page.body) });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ account: 'acme', paused: true });
    const resumed = await app.inject({ method: 'POST', url: '/v1/accounts/acme/resume', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(resumed.json()).toMatchObject({ paused: false });
  });

  it('with a read-only token can look but not pause, replay or enqueue (session and bearer alike)', async () => {
    const b = browser('10.0.1.2');
    expect((await b.login(READ)).statusCode).toBe(303);
    const page = await b.get('/console');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('read-only');
    expect(page.body).not.toContain('data-action="pause"');
    const csrf = { 'x-csrf-token': b.csrfOf(page.body) };
    expect((await b.post('/v1/accounts/acme/pause', {}, csrf)).statusCode).toBe(403);
    expect((await b.post('/v1/replays', { dryRun: false }, csrf)).statusCode).toBe(403);
    const bearer = { authorization: `Bearer ${READ}` };
    expect((await app.inject({ url: '/v1/stats', headers: bearer })).statusCode).toBe(200);
    const enqueue = await app.inject({ method: 'POST', url: '/v1/invites', headers: bearer, payload: { account: 'acme', invite: { email: 'r@example.com' } } });
    expect(enqueue.statusCode).toBe(403);
    expect(enqueue.json().message).toMatch(/read-only/);
  });

  it('ends at /logout: the cookie is cleared and the console sends the browser back to /login', async () => {
    const b = browser('10.0.1.3');
    await b.login(TOKEN);
    const page = await b.get('/console');
    const out = await b.post('/logout', { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '' }, {}, true);
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/login');
    const after = await b.get('/console');
    expect(after.statusCode).toBe(302);
    expect(after.headers.location).toBe('/login?next=%2Fconsole');
  });
});
