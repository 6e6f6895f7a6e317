/**
 * issue 23, person: `externalId` and names travel with the person. Kept with each invite (job data `person`),
 * never sent to a provider whose invite fields do not take them (externalId to none), and shown in the
 * `invite.*` events, webhook deliveries, `find`, the reports and the console. Old jobs without a person still work.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchReport, batchStatus } from '../../src/batches.ts';
import { formatFound } from '../../src/cli/format.ts';
import { batchPage, personPage } from '../../src/console/views.ts';
import { findInvitesByEmail } from '../../src/invites/lookup.ts';
import { onboard } from '../../src/onboarding/onboard.ts';
import { peopleCsv, peopleReport } from '../../src/onboarding/people.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { INVITE_JOB, jobOptions } from '../../src/producer.ts';
import { closientFake, SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { unibeeFake } from '../../src/providers/unibee/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import type { InviteJobData } from '../../src/types.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');
const dir = tempDir('ib-person-');
const configFile = join(dir, 'invitebus.config.json');
const ENV = { UB: 'sandbox-unibee-key', CL: 'sandbox-closient-key' };
const { start } = useCli({ ...ENV, INVITEBUS_CONFIG: configFile });
const cli = (...args: string[]) => start(args).done;
const SECRET = `whsec_${Buffer.from('invitebus-person-webhook-secret').toString('base64')}`;

async function server(handler: Parameters<typeof startFakeServer>[0]): Promise<FakeServer> {
  const s = await startFakeServer(handler);
  cleanups.push(() => s.close());
  return s;
}

/** UniBee (takes firstName/lastName) and Closient (takes neither) in the sandbox, a webhook receiver, workers. */
async function setup() {
  const ub = await server(unibeeFake({ qps: 1000 }).handler);
  const cl = await server(closientFake().handler);
  const hr = await server(() => ({ status: 200, body: { ok: true } }));
  const accounts = {
    ub: { provider: 'unibee', baseUrl: ub.url, credentials: { apiKey: { env: 'UB' } } },
    cl: { provider: 'closient', baseUrl: cl.url, orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'CL' } } },
  };
  const webhooks = {
    hr: { url: hr.url, secret: { env: 'WH' }, events: ['invite.succeeded', 'invite.failed', 'batch.completed'], retryScheduleMs: [100, 200] },
  };
  const p = await startPipeline(redis, accounts, { env: { ...ENV, WH: SECRET }, config: { webhooks } });
  cleanups.push(() => p.close());
  writeFileSync(configFile, JSON.stringify({ redis: { url: redis.url, prefix: p.config.redis.prefix }, accounts }));
  return { p, ub, cl, hr };
}

const { p, ub, cl, hr } = await setup();

/** The data of a person's job in an account. */
/**
 * The person kept with an invite: its job's, or (the workers run: the job may already be removed as it completed)
 * its sent record's, which is written from the job.
 */
async function keptPerson(account: string, email: string): Promise<InviteJobData['person'] | undefined> {
  const id = inviteJobId(account, email);
  const job = (await p.producer.queue(account).getJob(id))?.data as InviteJobData | undefined;
  return job?.person ?? (await p.events.sentRecord(account, id))?.person;
}

/** The webhook deliveries so far, as JSON. */
const deliveries = () => hr.requests.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });

describe('externalId and names travel with the person', () => {
  it('keeps them in the job, the invite events, the webhook bodies, find and the reports; never sends externalId', async () => {
    const result = await onboard(
      p.producer,
      [
        { email: 'ada@example.com', externalId: 'E-1042', firstName: 'Ada', lastName: 'Lovelace', roleIds: ['1'] },
        // A JSON number is taken as its decimal string.
        { email: 'bob@example.com', externalId: 7, roleIds: ['1'] },
        { email: 'cy@example.com', externalId: 'E\n9', firstName: 'Cy', roleIds: ['1'] },
      ],
      { accounts: ['ub', 'cl'] },
      { batchId: 'people-1' },
    );
    expect(result.accepted).toBe(4);
    // An invalid person field refuses the row once, by field (it would have been kept with every invite).
    expect(result.rejected).toEqual([
      { index: 2, who: 'Cy <cy@example.com>', field: 'externalId', message: 'externalId contains control characters (CR, LF, tab, ...)' },
    ]);

    expect(await keptPerson('ub', 'ada@example.com')).toEqual({ externalId: 'E-1042', firstName: 'Ada', lastName: 'Lovelace' });

    const events = await p.waitForInviteEvents(4);
    const of = (email: string, account: string) => events.find((e) => e.email === email && e.account === account);
    expect(of('ada@example.com', 'ub')).toMatchObject({
      type: 'invite.succeeded',
      outcome: 'invited',
      externalId: 'E-1042',
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
    expect(of('ada@example.com', 'cl')).toMatchObject({ externalId: 'E-1042', firstName: 'Ada', lastName: 'Lovelace' });
    expect(of('bob@example.com', 'cl')).toMatchObject({ externalId: '7' });
    expect(of('bob@example.com', 'cl')).not.toHaveProperty('firstName');

    // The provider requests: UniBee takes the names (its own invite fields), nobody gets the externalId.
    const toUb = ub.requests.find((r) => r.path === '/merchant/member/new_member' && (r.json as { email?: string }).email === 'ada@example.com');
    expect(toUb?.json).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' });
    for (const r of [...ub.requests, ...cl.requests]) {
      expect(r.body).not.toContain('E-1042');
      expect(r.body).not.toContain('externalId');
    }
    const toCl = cl.requests.filter((r) => r.method === 'POST');
    expect(toCl.length).toBeGreaterThanOrEqual(2);
    for (const r of toCl) expect(r.body).not.toMatch(/firstName|lastName|Lovelace/);

    // The webhook body is the event: the id stays a string ("7", never 7).
    await waitFor(() => deliveries().filter((d) => d.type === 'batch.completed').length === 1, 15_000, 'batch.completed delivered');
    const delivered = deliveries();
    expect(delivered.find((d) => d.type === 'invite.succeeded' && d.data.email === 'ada@example.com')?.data).toMatchObject({
      externalId: 'E-1042',
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
    expect(delivered.find((d) => d.type === 'invite.succeeded' && d.data.email === 'bob@example.com')?.data.externalId).toBe('7');
    // batch.completed carries counts only: nothing per person.
    expect(delivered.find((d) => d.type === 'batch.completed')?.data).not.toHaveProperty('externalId');

    // find, as the library answers and as the CLI prints it.
    const found = await findInvitesByEmail(p.producer, 'ada@example.com');
    expect(found.map((f) => [f.account, f.externalId, f.firstName, f.lastName]).sort()).toEqual([
      ['cl', 'E-1042', 'Ada', 'Lovelace'],
      ['ub', 'E-1042', 'Ada', 'Lovelace'],
    ]);
    expect(formatFound(found[0] as (typeof found)[0])).toMatch(/ \[Ada Lovelace, externalId E-1042\]$/);
    const printed = await cli('find', 'ada@example.com');
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/^ub: completed \(invited.*\[Ada Lovelace, externalId E-1042\]$/m);
    expect(JSON.parse((await cli('find', 'bob@example.com', '--json')).stdout.split('\n')[0] ?? '')).toMatchObject({ externalId: '7', firstName: '' });

    // The reports: by invite and by person.
    const lines = [];
    for await (const line of batchReport(p.producer, 'people-1')) lines.push(line);
    expect(lines.find((l) => l.email === 'ada@example.com')).toMatchObject({ externalId: 'E-1042', firstName: 'Ada', lastName: 'Lovelace' });
    const report = await peopleReport(p.producer, 'people-1');
    const csv = [...peopleCsv(report ?? { accounts: [], people: [] })];
    expect(csv[0]).toBe('email,externalId,firstName,lastName,name,(row),cl,ub,summary\n');
    expect(csv).toContain('ada@example.com,E-1042,Ada,Lovelace,Ada Lovelace <ada@example.com>,,invited,invited,done\n');
    expect(csv).toContain('bob@example.com,7,,,,,invited,invited,done\n');

    // The console shows the name and the id: on the person's page and in the onboarding's people table.
    const page = personPage('ada@example.com', found);
    expect(page).toContain('Ada Lovelace');
    expect(page).toContain('E-1042');
    const status = await batchStatus(p.producer.redis, p.config.redis.prefix, 'people-1');
    const table = batchPage(
      status as NonNullable<typeof status>,
      { people: 0, invites: 0, wholeRows: 0 },
      report ?? { accounts: [], people: [] },
      {},
      { rows: [], more: 0 },
    );
    expect(table).toMatch(/Ada Lovelace &lt;<a [^>]*>ada@example\.com<\/a>&gt; <span class="ext"[^>]*>E-1042<\/span>/);
  });

  it('reads externalId and names from an HR file in any header case (CLI), and prints them in report --by person', async () => {
    const file = join(dir, 'hires.csv');
    writeFileSync(file, '\uFEFFEmail,ExternalId,FirstName,LastName,roleIds\r\neve@example.com,00017,Eve,<Doe>,1\r\n');
    const run = await cli('enqueue', '--account', 'ub', '--file', file, '--batch', 'people-csv');
    expect(run.code, run.stderr).toBe(0);
    const events = await p.waitForInviteEvents(5);
    expect(events.find((e) => e.email === 'eve@example.com')).toMatchObject({ externalId: '00017', firstName: 'Eve', lastName: '<Doe>' });
    await waitFor(async () => (await batchStatus(p.producer.redis, p.config.redis.prefix, 'people-csv'))?.complete, 15_000, 'the batch to complete');
    const people = (await cli('report', 'people-csv', '--by', 'person')).stdout.trim().split('\n');
    expect(people).toContain('eve@example.com,00017,Eve,<Doe>,Eve <Doe> <eve@example.com>,invited,done');
    const page = personPage('eve@example.com', await findInvitesByEmail(p.producer, 'eve@example.com'));
    expect(page).toContain('Eve &lt;Doe&gt;');
    expect(page).not.toContain('<Doe>');
  });

  it('delivers and reports a job queued before people were kept (no person), and one whose person does not hold', async () => {
    const queue = p.producer.queue('cl');
    const account = p.config.accounts.cl;
    if (account === undefined) throw new Error('no account cl');
    const old: InviteJobData = { account: 'cl', provider: 'closient', invite: { email: 'old@example.com', role: 'editor' }, enqueuedAt: Date.now() };
    const tampered = { ...old, invite: { email: 'odd@example.com', role: 'editor' }, person: { externalId: { x: 1 }, firstName: 'a\nb' } };
    for (const data of [old, tampered]) {
      const id = inviteJobId('cl', data.invite.email);
      await queue.add(INVITE_JOB, data as InviteJobData, jobOptions(p.config, account, id));
    }
    const events = await waitFor(async () => {
      const all = (await p.inviteEvents()).filter((e) => e.email === 'old@example.com' || e.email === 'odd@example.com');
      return all.length === 2 ? all : undefined;
    });
    for (const e of events) {
      expect(e).toMatchObject({ type: 'invite.succeeded', outcome: 'invited' });
      expect(e).not.toHaveProperty('externalId');
      expect(e).not.toHaveProperty('firstName');
    }
    const [found] = await findInvitesByEmail(p.producer, 'old@example.com');
    expect(found).toMatchObject({ state: 'completed', externalId: '', firstName: '', lastName: '' });
    expect(formatFound(found as NonNullable<typeof found>)).not.toContain('[');
  });

  it('a correction of a failed invite takes its new person; a queued or sent invite keeps its own (a duplicate)', async () => {
    // roleId 999 is not in the sandbox business: the invite fails, rejected.
    await onboard(
      p.producer,
      [{ email: 'dee@example.com', externalId: 'E-1', firstName: 'Dee', roleIds: ['999'] }],
      { accounts: ['ub'] },
      { batchId: 'fix-1' },
    );
    const failed = await waitFor(
      async () => (await p.inviteEvents()).find((e) => e.email === 'dee@example.com' && e.type === 'invite.failed'),
      15_000,
      'the failure',
    );
    expect(failed).toMatchObject({ reasonClass: 'rejected', externalId: 'E-1', firstName: 'Dee' });
    const fixed = await onboard(
      p.producer,
      [
        { email: 'dee@example.com', externalId: 'E-2', firstName: 'Deanna', roleIds: ['1'] },
        { email: 'ada@example.com', externalId: 'E-9999', firstName: 'Augusta', roleIds: ['1'] },
      ],
      { accounts: ['ub'] },
      { batchId: 'fix-2' },
    );
    expect(fixed).toMatchObject({ accepted: 1, replaced: 1, duplicates: 1 });
    const dee = await waitFor(
      async () => (await p.inviteEvents()).find((e) => e.email === 'dee@example.com' && e.type === 'invite.succeeded'),
      15_000,
      'the correction',
    );
    expect(dee).toMatchObject({ externalId: 'E-2', firstName: 'Deanna', batchId: 'fix-2' });
    expect(dee).not.toHaveProperty('lastName');
    // Ada's invite was sent: its sent record keeps her own person.
    expect((await p.events.sentRecord('ub', inviteJobId('ub', 'ada@example.com')))?.person).toEqual({
      externalId: 'E-1042',
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
  });

  it('checks the person of a single invite and of inviteMany too, by field', async () => {
    await expect(p.producer.invite('cl', { email: 'x@example.com', firstName: 5 })).rejects.toThrow(
      "invalid invite for account 'cl': firstName: expected a string, got a number",
    );
    const many = await p.producer.inviteMany(
      'cl',
      [
        { email: 'y@example.com', externalId: 'Y-1' },
        { email: 'z@example.com', externalId: [1] },
      ],
      {
        batchId: 'many-1',
      },
    );
    expect(many.rejected).toEqual([{ index: 1, field: 'externalId', message: 'expected a string (or a whole number), got an array' }]);
    expect(await keptPerson('cl', 'y@example.com')).toEqual({ externalId: 'Y-1' });
  });
});
