import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { closientFake, SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startStack } from '../support/stack.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'api-onboarding-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let app: FastifyInstance;
let producer: Producer;
let stack: Awaited<ReturnType<typeof startStack<'uptime' | 'closient'>>>;

beforeAll(async () => {
  stack = await startStack(redis, {
    fakes: { uptime: betterstackHandler({ members: ['known@example.com'] }), closient: closientFake({ perWindow: 100_000 }).handler },
    accounts: (f) => ({
      uptime: { provider: 'betterstack', baseUrl: f.uptime.url, credentials: { token: { env: 'T' } } },
      cl: { provider: 'closient', baseUrl: f.closient.url, orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'K' } } },
    }),
    config: () => ({
      defaults: { retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } },
      profiles: { support: { uptime: { role: 'responder' }, cl: { role: 'editor' } } },
    }),
    env: { T: 'bs-team-token', K: 'sandbox-closient-key' },
  });
  producer = stack.producer;
  app = await buildApi({ producer, token: TOKEN, registry: createMetrics().registry });
});
afterAll(async () => {
  await app.close();
  await stack.close();
});

const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/onboardings', headers: auth, payload: body as object });
const get = (url: string) => app.inject({ url, headers: auth });

describe('POST /v1/onboardings', () => {
  it('onboards people by profile, follows them as one onboarding, per account and per person', async () => {
    const res = await post({
      onboardingId: 'api-cohort',
      profile: 'support',
      people: [
        { email: 'ann@example.com', firstName: 'Ann' },
        { email: 'known@example.com' },
        { email: 'cat@example.com', role: 'manager' },
        { email: 'nope' },
      ],
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      onboardingId: 'api-cohort',
      people: 4,
      accepted: 5,
      byAccount: { uptime: { accepted: 2, rejected: 2 }, cl: { accepted: 3, rejected: 1 } },
      rejected: [
        { index: 2, account: 'uptime', field: 'role' },
        { index: 3, account: 'uptime', field: 'email' },
        { index: 3, account: 'cl', field: 'email' },
      ],
    });
    const status = await waitFor(async () => {
      const s = (await get('/v1/onboardings/api-cohort')).json();
      return s.complete ? s : undefined;
    });
    expect(status).toMatchObject({
      total: 5,
      done: 5,
      accounts: { uptime: { total: 2, outcomes: { invited: 1, already_member: 1 } }, cl: { total: 3, outcomes: { invited: 3 } } },
    });
    const people = (await get('/v1/onboardings/api-cohort/people')).json();
    expect(people.accounts).toEqual(['cl', 'uptime']);
    expect(people.people).toEqual(
      expect.arrayContaining([
        { email: 'ann@example.com', who: 'Ann <ann@example.com>', firstName: 'Ann', accounts: { uptime: 'invited', cl: 'invited' }, summary: 'done' },
        expect.objectContaining({ email: 'cat@example.com', summary: 'needs attention' }),
        expect.objectContaining({ email: 'nope', who: 'nope', summary: 'needs attention' }),
      ]),
    );
    const csv = await get('/v1/onboardings/api-cohort/people?format=csv');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')).toEqual(
      expect.arrayContaining([
        'email,externalId,firstName,lastName,name,cl,uptime,summary',
        'ann@example.com,,Ann,,Ann <ann@example.com>,invited,invited,done',
      ]),
    );
    const person = await get('/v1/people/Known@Example.com');
    expect(person.statusCode).toBe(200);
    expect(person.json().invites).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ account: 'uptime', state: 'completed', outcome: 'already_member' }),
        expect.objectContaining({ account: 'cl', state: 'completed', outcome: 'invited' }),
      ]),
    );
    expect(person.json().invites).toHaveLength(2);
  });

  it("matches profile names in any letter case, the body's and each person's; JSON field names stay as they are", async () => {
    const res = await post({
      onboardingId: 'api-cases',
      profile: 'SUPPORT',
      people: [{ email: 'case1@example.com' }, { email: 'case2@example.com', profile: 'Support' }, { email: 'case3@example.com', Profile: 'nosuch' }],
    });
    expect(res.statusCode).toBe(202);
    // case3's `Profile` is not `profile` (a JSON field is named exactly): the body's profile applies.
    expect(res.json()).toMatchObject({ people: 3, accepted: 6, rejected: [] });
  });

  it('refuses a bad body with the field, an unknown profile, an unknown onboarding and a non-address', async () => {
    const both = await post({ profile: 'support', accounts: ['cl'], people: [{ email: 'a@example.com' }] });
    expect(both.statusCode).toBe(400);
    expect(both.json().details).toEqual([{ field: 'accounts', message: 'give a profile or accounts, not both' }]);
    const unknown = await post({ profile: 'sales', people: [{ email: 'a@example.com' }] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: 'unknown_profile', message: expect.stringMatching(/unknown profile 'sales'; configured profiles: support/) });
    expect((await post({ profile: 'support', people: [] })).statusCode).toBe(400);
    expect((await get('/v1/onboardings/no-such')).statusCode).toBe(404);
    expect((await get('/v1/onboardings/no-such/people')).statusCode).toBe(404);
    expect((await get('/v1/people/not-an-address')).statusCode).toBe(400);
    expect((await get('/v1/people/nobody@example.com')).statusCode).toBe(404);
  });

  it('documents request and response schemas of the new routes in OpenAPI', async () => {
    const doc = (await get('/docs/json')).json();
    const onboarding = doc.paths['/v1/onboardings'].post;
    expect(onboarding.requestBody.content['application/json'].schema.properties).toHaveProperty('people');
    expect(onboarding.responses['202'].content['application/json'].schema.properties).toHaveProperty('byAccount');
    expect(doc.paths['/v1/onboardings/{id}'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('accounts');
    expect(doc.paths['/v1/onboardings/{id}/people'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('people');
    expect(doc.paths['/v1/people/{email}'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('invites');
    // POST /v1/invites answers 202, and says so.
    expect(Object.keys(doc.paths['/v1/invites'].post.responses)).toEqual(expect.arrayContaining(['202', '400', '404']));
    expect(doc.paths['/v1/invites'].post.responses['202'].content['application/json'].schema.properties).toHaveProperty('accepted');
  });
});
