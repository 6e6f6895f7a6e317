/**
 * The console telling a cohort's story (issue 23), as the demo's sample goes through the five sandbox providers:
 * people and invites counted apart, a row refused as a whole shown as a row (no fake tool column), every
 * duplicate listed with what it duplicated, request ids where the provider gives one ("—" where it gives none),
 * the paced rate explained, and times marked UTC until the page's script puts them in the viewer's zone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { batchStatus } from '../../src/batches.ts';
import { enqueueFile } from '../../src/cli/enqueue.ts';
import { attentionLabel, batchPage, personLabel, personPage } from '../../src/console/views.ts';
import { SAMPLE } from '../../src/demo/demo.ts';
import { createMetrics } from '../../src/metrics.ts';
import { betterstackBodies } from '../../src/providers/betterstack/sandbox.ts';
import type { ProviderId } from '../../src/providers/index.ts';
import { fakeOf } from '../../src/sandbox/fakes.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { injectBrowser } from '../support/inject-browser.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'cohort-test-token-0123456789';
const PROFILES: Record<string, ProviderId[]> = { engineering: ['betterstack', 'closient', 'sutro'], finance: ['stellas', 'unibee'] };

let sandbox: Sandbox;
let app: FastifyInstance;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let browser: ReturnType<typeof injectBrowser>;

/** The page's text content, roughly: inline tags dropped, others a space, entities of names kept readable. */
const text = (html: string) =>
  html
    .replace(/<\/?(?:a|span|strong|time|small|code)\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&#39;', "'")
    .replace(/\s+/g, ' ');

beforeAll(async () => {
  sandbox = await startSandbox();
  // The first Better Stack invite is refused for good: one person failed for one tool.
  sandbox.servers.betterstack.script({ status: 422, body: betterstackBodies.invalidRole });
  const profiles = Object.fromEntries(
    Object.entries(PROFILES).map(([name, ids]) => [name, Object.fromEntries(ids.map((id) => [`sandbox-${id}`, { ...fakeOf(id).exampleInvite }]))]),
  );
  pipeline = await startPipeline(redis, sandbox.accounts, { env: { ...SANDBOX_CREDENTIALS }, config: { profiles } });
  app = await buildApi({ producer: pipeline.producer, token: TOKEN, registry: createMetrics().registry });
  const done = async (batchId: string) =>
    waitFor(async () => (await batchStatus(pipeline.producer.redis, pipeline.config.redis.prefix, batchId))?.complete, 20_000, `${batchId} done`);
  // The demo's sample as `invitebus enqueue` reads it: line 45 cannot be read (a row refused as a whole),
  // not-an-address is refused for its three tools, lines 42 and 43 name people of lines 2 and 4 again.
  await enqueueFile(pipeline.producer, { file: SAMPLE, batchId: 'cohort', log: () => {} });
  await done('cohort');
  // A later file naming someone of the first again, and someone new.
  const later = join(tempDir('ib-cohort-'), 'later.csv');
  writeFileSync(later, 'email,firstName,lastName,profile\ndonald.torvalds5@example.com,Donald,Torvalds,finance\nnew.hire@example.com,New,Hire,finance\n');
  await enqueueFile(pipeline.producer, { file: later, batchId: 'later', log: () => {} });
  await done('later');
  browser = injectBrowser(app);
  await browser.login(TOKEN);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await pipeline?.close();
  await sandbox?.close();
});

describe('the console on a cohort', () => {
  it('counts the people who need attention apart from their invites', async () => {
    const list = text((await browser.get('/console')).body);
    // not-an-address (3 invites refused), line 45 (refused as a whole), the one Better Stack failure.
    expect(list).toContain('3 people need attention (4 invites, 1 whole row)');
    const page = text((await browser.get('/console/batches/cohort')).body);
    expect(page).toContain('3 people need attention (4 invites, 1 whole row)');
    // The person filter agrees.
    const filtered = (await browser.get('/console/batches/cohort?summary=needs+attention')).body;
    expect(text(filtered)).toContain('3 of 42 people');
  });

  it('shows a row refused as a whole as a row, not as a tool column', async () => {
    const html = (await browser.get('/console/batches/cohort')).body;
    expect(html).not.toContain('(row)');
    const row = /<tr[^>]*>(?:(?!<\/tr>).)*line 45(?:(?!<\/tr>).)*<\/tr>/s.exec(html)?.[0] ?? '';
    expect(row).toContain('class="whole-row"');
    expect(text(row)).toMatch(/whole row refused: .*line 45/);
  });

  it('lists every duplicate with what it duplicated', async () => {
    const cohort = text((await browser.get('/console/batches/cohort')).body);
    expect(cohort).toMatch(
      /line 42 \(Ada Lovelace <ADA\.LOVELACE0@EXAMPLE\.COM>\): duplicate of line 2 \(same address\) for sandbox-betterstack, sandbox-closient, sandbox-sutro/,
    );
    expect(cohort).toMatch(/line 43 \(Grace Lamarr <Grace\.Lamarr2@Example\.Com>\): duplicate of line 4 \(same address\)/);
    const later = text((await browser.get('/console/batches/later')).body);
    expect(later).toMatch(
      /line 2 \(Donald Torvalds <donald\.torvalds5@example\.com>\): already queued in onboarding cohort \(invited\) for sandbox-stellas, sandbox-unibee/,
    );
  });

  it("shows the provider's request id, and says when a provider gives none", async () => {
    const html = (await browser.get('/console/people?email=barbara.hamilton4%40example.com')).body;
    const row = (account: string) => new RegExp(`<tr><th scope="row">${account}</th>(?:(?!</tr>).)*</tr>`, 's').exec(html)?.[0] ?? '';
    expect(row('sandbox-unibee')).toMatch(/sandbox-req-\d+/);
    expect(row('sandbox-stellas')).toContain('<span class="none" title="this provider gives no request id">—</span>');
  });

  it("explains the paced rate: what moves it in the header and legend, each account's in words", async () => {
    const html = (await browser.get('/console')).body;
    expect(html).toMatch(/<th title="[^"]*429[^"]*climbs back to the limit[^"]*">paced rate/);
    // The sandbox's accounts have no rateLimit.
    expect(row(html, 'sandbox-closient')).toContain('<td class="paced"><small>no limit</small></td>');
  });

  it('marks times as UTC until the script puts them in the viewer’s zone', async () => {
    const html = (await browser.get('/console')).body;
    expect(html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/);
  });
});

/** An account's row of the console's accounts table. */
function row(html: string, account: string): string {
  return new RegExp(`<tr data-account="${account}">(?:(?!</tr>).)*</tr>`, 's').exec(html)?.[0] ?? '';
}

describe('what the views say (no Redis)', () => {
  const line = {
    inviteId: 'inv-1',
    account: 'sandbox-unibee',
    email: 'ada@example.com',
    state: 'completed',
    outcome: 'invited',
    reason: '',
    attempts: 1,
    status: '200',
    requestId: 'req-1',
    message: '',
    at: '2026-03-02T13:02:05.000Z',
  };

  it('names a person of an onboarding by the names of their invites, with the HR system’s id', () => {
    const row = {
      email: 'ada@example.com',
      accounts: { a: 'invited' },
      summary: 'done' as const,
      externalId: 'E-1001',
      firstName: 'Ada',
      lastName: 'Lovelace',
    };
    const status = {
      batchId: 'b',
      total: 1,
      done: 1,
      succeeded: 1,
      failed: 0,
      refused: 0,
      duplicates: 0,
      alreadyInBatch: 0,
      scheduled: 0,
      cancelled: 0,
      complete: true,
      sealed: true,
      outcomes: {},
      reasons: {},
      accounts: {},
    };
    const html = batchPage(status, { people: 0, invites: 0, wholeRows: 0 }, { accounts: ['a'], people: [row] }, { q: 'e-1001' }, { rows: [], more: 0 });
    expect(text(html)).toContain('Ada Lovelace <ada@example.com> E-1001');
    expect(text(html)).toContain('1 of 1 people');
  });

  it('says one person and their invites in the singular and plural they need', () => {
    expect(attentionLabel({ people: 1, invites: 3, wholeRows: 0 })).toBe('1 person needs attention (3 invites)');
    expect(attentionLabel({ people: 2, invites: 1, wholeRows: 1 })).toBe('2 people need attention (1 invite, 1 whole row)');
    expect(attentionLabel({ people: 1, invites: 0, wholeRows: 1 })).toBe('1 person needs attention (1 whole row)');
    expect(attentionLabel({ people: 0, invites: 0, wholeRows: 0 })).toBe('');
  });

  it('names a person by their `who` (from the intake) when no `person` came with the invite', () => {
    expect(text(personLabel('ada@example.com', { who: 'Ada Lovelace <ADA@example.com>' }))).toBe('Ada Lovelace <ada@example.com>');
    expect(text(personLabel('ada@example.com'))).toBe('ada@example.com');
  });

  it('heads the page of a person found with their name and id', () => {
    const html = personPage('ada@example.com', [{ ...line, externalId: 'E-1001', firstName: 'Ada', lastName: 'Lovelace' }]);
    expect(text(/<h1>.*?<\/h1>/.exec(html)?.[0] ?? '')).toBe(' Ada Lovelace <ada@example.com> E-1001 ');
  });
});
