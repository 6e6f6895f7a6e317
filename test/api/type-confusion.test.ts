import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { useRedis } from '../support/redis.ts';

/**
 * Type confusion at the API door (issue 20, case 7): a field of the wrong JSON type, an object above all
 * (`{"toString": "x"}` cannot even be turned into a string), is refused by name; it never makes a 500 nor
 * refuses the rest of the cohort.
 */
const redis = useRedis(import.meta.url);
const TOKEN = 'api-type-confusion-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const conn = redis.connect();
let app: FastifyInstance;
let producer: Producer;
let runs = 0;

const ACCOUNTS = ['uptime', 'cl', 'ub', 'st', 'su'] as const;

beforeAll(async () => {
  const config = parseConfig({
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: {
      uptime: { provider: 'betterstack', credentials: { token: { env: 'T' } } },
      cl: { provider: 'closient', orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'K' } } },
      ub: { provider: 'unibee', credentials: { apiKey: { env: 'U' } } },
      st: { provider: 'stellas', businessId: 'biz-1', credentials: { secretKey: { env: 'S' }, accessToken: { env: 'A' } } },
      su: { provider: 'sutro', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'R' } } },
    },
    profiles: { support: { uptime: { role: 'responder' }, cl: { role: 'editor' } } },
  });
  producer = new Producer(config, { redis: conn });
  app = await buildApi({ producer, token: TOKEN, registry: createMetrics().registry });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await conn.quit();
});

/** Posts a raw JSON text, so hostile keys (`__proto__`) reach the server as written. */
const post = (url: string, body: unknown) =>
  app.inject({ method: 'POST', url, headers: auth, payload: typeof body === 'string' ? body : JSON.stringify(body) });
const waiting = (account: string) => producer.queue(account).getWaitingCount();

/** Values of the wrong type for a string field, as JSON can carry them. */
const HOSTILE: Record<string, unknown> = {
  'an object with toString': { toString: 'x' },
  'an object with valueOf': { valueOf: 'x', toString: 'y' },
  'a nested object': { a: { b: { c: [1, { d: null }] } } },
  'an array': ['member'],
  'an array of objects': [{ toString: 'x' }],
  'a number': 42,
  'a boolean': true,
  null: null,
};

describe('POST /v1/onboardings with fields of the wrong type', () => {
  it('refuses the person whose role is {"toString": "x"} by field, and queues the rest of the cohort (was: 500, nothing queued)', async () => {
    const res = await post('/v1/onboardings', {
      onboardingId: 'tc-1',
      profile: 'support',
      people: [{ email: 'ok1@example.com' }, { email: 'bad@example.com', role: { toString: 'x' } }, { email: 'ok2@example.com' }],
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      onboardingId: 'tc-1',
      people: 3,
      accepted: 4,
      rejected: [
        { index: 1, account: 'uptime', field: 'role', message: 'expected a string, got an object' },
        { index: 1, account: 'cl', field: 'role', message: 'expected a string, got an object' },
      ],
    });
    expect(await waiting('uptime')).toBeGreaterThanOrEqual(2);
    expect(await waiting('cl')).toBeGreaterThanOrEqual(2);
  });

  it.each(Object.entries(HOSTILE))('names the field for %s in role, email, firstName and profile', async (_name, value) => {
    runs += 1;
    // Stellas needs a role or a role id: every row but the two about roles has one.
    const st = { memberRoleId: 'r1' };
    const people = [
      { email: `good-${runs}@example.com`, ...st },
      { email: `r-${runs}@example.com`, role: value },
      { email: value, ...st },
      { email: `f-${runs}@example.com`, firstName: value, lastName: value, ...st },
      { email: `p-${runs}@example.com`, profile: value, ...st },
      { email: `m-${runs}@example.com`, memberRoleId: value, returnUrl: value },
    ];
    const res = await post('/v1/onboardings', { accounts: [...ACCOUNTS], people });
    expect(res.statusCode).toBe(202);
    const body = res.json() as { accepted: number; rejected: Array<{ index: number; account?: string; field: string; message: string }> };
    for (const r of body.rejected) {
      expect(r.message).not.toMatch(/\[object|Cannot convert|undefined/);
      const expected = ['(none)', 'role', 'email', 'firstName', 'profile', 'memberRoleId'][r.index];
      // A row gets the first field its provider refuses; Stellas needs a role, so the memberRoleId row may name it.
      if (r.index === 5) expect(['memberRoleId', 'returnUrl']).toContain(r.field);
      else expect(r.field, JSON.stringify(r)).toBe(expected);
    }
    expect(body.rejected.filter((r) => r.index === 2)).toHaveLength(ACCOUNTS.length);
    expect(body.rejected.filter((r) => r.index === 2)[0]?.message).toMatch(/^expected a string, got (an object|an array|a number|a boolean|null)$/);
    // The valid person is queued in every account.
    expect(body.rejected.filter((r) => r.index === 0)).toEqual([]);
    expect(body.accepted).toBeGreaterThanOrEqual(ACCOUNTS.length);
  });

  it('refuses a whole body of the wrong shape with 400 naming the field, never 500', async () => {
    for (const body of [
      { onboardingId: { toString: 'x' }, profile: 'support', people: [{ email: 'a@example.com' }] },
      { profile: { toString: 'x' }, people: [{ email: 'a@example.com' }] },
      { accounts: [{ toString: 'x' }], people: [{ email: 'a@example.com' }] },
      { accounts: 'uptime', people: [{ email: 'a@example.com' }] },
      { profile: 'support', people: { toString: 'x' } },
    ]) {
      const res = await post('/v1/onboardings', body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().details[0].field).toMatch(/^(onboardingId|profile|accounts(\.0)?|people)$/);
      expect(res.json().details[0].message).toMatch(/^expected (a string|an array), got (an object|a string)$/);
    }
  });

  it('refuses a person that is not an object by position, and queues the others', async () => {
    const res = await post('/v1/onboardings', {
      onboardingId: 'tc-rows',
      accounts: ['su'],
      people: [{ email: 'row-ok@example.com' }, 7, null, ['x'], 'ada@example.com'],
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [1, 2, 3, 4].map((index) => ({ index, field: '(row)' })) });
  });

  it('refuses a body with __proto__ / constructor.prototype keys (prototype poisoning) with a 400 naming where (was: "Body is not valid JSON")', async () => {
    const proto = await post(
      '/v1/onboardings',
      '{"accounts":["su"],"people":[{"email":"x@example.com"},{"email":"y@example.com","__proto__":{"role":"owner"}}]}',
    );
    expect(proto.statusCode).toBe(400);
    expect(proto.json()).toMatchObject({
      error: 'invalid_body',
      details: [{ field: 'people.1.__proto__', message: expect.stringMatching(/^a key named __proto__ is refused/) }],
    });
    // Escaped in the JSON text, the key is the same key once parsed.
    const escaped = await post('/v1/invites', '{"account":"su","invite":{"email":"x@example.com","\\u005f_proto__":{"role":"owner"}}}');
    expect(escaped.json()).toMatchObject({ error: 'invalid_body', details: [{ field: 'invite.__proto__' }] });
    const ctor = await post('/v1/onboardings', '{"accounts":["su"],"people":[{"email":"x@example.com","constructor":{"prototype":{"role":"owner"}}}]}');
    expect(ctor.statusCode).toBe(400);
    expect(ctor.json()).toMatchObject({ error: 'invalid_body', details: [{ field: 'people.0.constructor' }] });
    // Real syntax errors and empty bodies still say what is wrong.
    expect((await post('/v1/invites', '{"account":')).json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringMatching(/^the body is not valid JSON: /),
    });
    expect((await post('/v1/invites', '')).json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/^the body is empty/) });
    // A `constructor` that cannot poison anything is a field like any other: not one Sutro takes.
    const plain = await post('/v1/onboardings', '{"accounts":["su"],"people":[{"email":"ctor@example.com","constructor":"x"}]}');
    expect(plain.statusCode).toBe(202);
    expect(plain.json()).toMatchObject({ accepted: 1 });
  });
});

describe('POST /v1/invites and /v1/replays with fields of the wrong type', () => {
  it('refuses the invite whose role is an object by field and queues the rest (was: 500)', async () => {
    const res = await post('/v1/invites', {
      account: 'cl',
      invites: [{ email: 'inv-ok@example.com' }, { email: 'inv-bad@example.com', role: { toString: 'x' } }, { email: { valueOf: 1 } }],
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 1, field: 'role', message: 'expected a string, got an object' },
        { index: 2, field: 'email', message: 'expected a string, got an object' },
      ],
    });
  });

  it('refuses a replay whose set has a field of the wrong type with a 400 naming it (was: 500)', async () => {
    for (const value of Object.values(HOSTILE)) {
      const res = await post('/v1/replays', { accounts: ['cl'], set: { role: value } });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().message).toMatch(/^replay refused, nothing was moved: cl: role: expected a string, got /);
    }
  });
});

describe('any JSON value in any field (property-based)', () => {
  const FIELDS = ['email', 'role', 'firstName', 'lastName', 'profile', 'memberRoleId', 'returnUrl', 'roleIds', 'name', 'toString', 'valueOf', 'constructor'];
  /** JSON values, and objects built to break a String() call: keys toString, valueOf, constructor, with any value. */
  const hostile = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(fc.constantFrom('toString', 'valueOf', 'constructor', 'name', 'length', 'then'), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 }),
    fc.array(fc.dictionary(fc.constantFrom('toString', 'valueOf'), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1 }), { minLength: 1, maxLength: 3 }),
  );
  it('never answers 500; a refused person names the field; the valid people are queued', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), hostile, async (field, value) => {
        runs += 1;
        const person = { ...(field === 'email' ? {} : { email: `h-${runs}@example.com` }), [field]: value };
        const res = await post('/v1/onboardings', { accounts: ['uptime', 'cl', 'su', 'ub'], people: [{ email: `v-${runs}@example.com` }, person] });
        if (res.statusCode === 400) {
          // Only a prototype-poisoning key refuses the whole body, and it is named with its place.
          const where: string = res.json().details[0].field;
          expect(where, res.body).toMatch(new RegExp(`^people\\.1\\.${field}(\\.|$)`));
          expect(where, res.body).toMatch(/(^|\.)(__proto__|constructor)$/);
          return;
        }
        expect(res.statusCode, res.body).toBe(202);
        const body = res.json() as { accepted: number; rejected: Array<{ index: number; field: string; message: string }> };
        expect(body.rejected.filter((r) => r.index === 0)).toEqual([]);
        for (const r of body.rejected) {
          expect(r.field === field || r.field.startsWith(`${field}.`), JSON.stringify(r)).toBe(true);
          expect(r.message).not.toMatch(/\[object|Cannot convert/);
        }
        expect(body.accepted).toBeGreaterThanOrEqual(4);
      }),
      { numRuns: 150 },
    );
  });
});
