/**
 * Onboarding a cohort (issue: onboarding as the unit of work): one file of people into the several tools
 * their team uses, by profile, by a profile column or by accounts; one onboarding id followed as one batch;
 * per-person results; the rows refused at intake in the report.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchReport, batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { onboard } from '../../src/onboarding/onboard.ts';
import { peopleReport } from '../../src/onboarding/people.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { closientFake, SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { stellasFake } from '../../src/providers/stellas/sandbox.ts';
import { sutroFake } from '../../src/providers/sutro/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { captureLogs } from '../support/log-capture.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');
const dir = tempDir('ib-onboard-');
const ENV = { BS: 'bs-team-token', CL: 'sandbox-closient-key', SU: 'sandbox-sutro-jwt' };

let servers: { uptime: FakeServer; closient: FakeServer; sutro: FakeServer };
const accounts = () => ({
  'acme-uptime': { provider: 'betterstack', baseUrl: servers.uptime.url, credentials: { token: { env: 'BS' } } },
  'acme-closient': { provider: 'closient', baseUrl: servers.closient.url, orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'CL' } } },
  'acme-sutro': { provider: 'sutro', baseUrl: servers.sutro.url, credentials: { token: { env: 'SU' } } },
});
const PROFILES = {
  engineering: { 'acme-uptime': { role: 'member' }, 'acme-closient': { role: 'editor' }, 'acme-sutro': {} },
  finance: { 'acme-closient': { role: 'billing' } },
};

beforeAll(async () => {
  servers = {
    uptime: await startFakeServer(betterstackHandler({ members: ['already@example.com'] })),
    closient: await startFakeServer(closientFake({ perWindow: 1_000_000 }).handler),
    sutro: await startFakeServer(sutroFake().handler),
  };
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

/** The role each Closient invite was sent with, by address. */
const closientRoles = () => Object.fromEntries(servers.closient.requests.map((r) => [(r.json as { email: string }).email, (r.json as { role?: string }).role]));

describe('profiles in the config', () => {
  const parse = (profiles: unknown) => () => parseConfig({ accounts: accounts(), profiles });

  it('checks every profile field by its account provider schema at start-up', () => {
    expect(parse(PROFILES)).not.toThrow();
    // The same role mapping for every tool: Closient has no role "member", Better Stack no "editor".
    expect(parse({ engineering: { 'acme-closient': { role: 'member' } } })).toThrow(/profiles\.engineering\.acme-closient\.role: role 'member' is not allowed/);
    expect(parse({ engineering: { 'acme-nope': {} } })).toThrow(/profiles\.engineering\.acme-nope: unknown account 'acme-nope'/);
    expect(parse({ engineering: { 'acme-uptime': { roleIds: ['1'] } } })).toThrow(
      /profiles\.engineering\.acme-uptime\.roleIds: not an invite field of provider betterstack/,
    );
    expect(parse({ 'bad name': { 'acme-uptime': {} } })).toThrow(/profiles\.bad name: 'bad name' is not a valid profile name/);
    expect(parse({ empty: {} })).toThrow(/profiles\.empty: a profile names at least one account/);
  });
});

describe('onboard (library)', () => {
  it('invites each person into every tool of their profile, with the profile fields, as one batch', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, config: { profiles: PROFILES } });
    cleanups.push(() => p.close());
    const people = [
      { email: 'ada@example.com', firstName: 'Ada' },
      { email: 'bob@example.com', profile: 'engineering;finance' },
      { email: 'cy@example.com', profile: 'finance', role: 'manager' },
      { email: 'dee@example.com', profile: 'nosuch' },
      { email: 'eve@example.com', role: 'owner' },
      { email: 'ADA@example.com' },
    ];
    const result = await onboard(p.producer, people, { profile: 'engineering' }, { batchId: 'cohort-1' });
    // ada ×3, bob ×3, cy ×1, eve ×2 (owner is fine for Closient, not for Better Stack); dee refused; ADA a duplicate ×3.
    expect(result).toMatchObject({ batchId: 'cohort-1', people: 6, accepted: 9, duplicates: 3 });
    expect(result.rejected).toEqual([
      { index: 3, who: 'dee@example.com', field: 'profile', message: expect.stringMatching(/unknown profile 'nosuch'/) },
      { index: 4, account: 'acme-uptime', who: 'eve@example.com', field: 'role', message: expect.stringMatching(/role 'owner' is not allowed/) },
    ]);
    expect(result.byAccount).toEqual({
      'acme-uptime': { accepted: 2, duplicates: 1, rejected: 1 },
      'acme-closient': { accepted: 4, duplicates: 1, rejected: 0 },
      'acme-sutro': { accepted: 3, duplicates: 1, rejected: 0 },
    });
    const status = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'cohort-1');
      return s?.complete ? s : undefined;
    });
    expect(status).toMatchObject({ total: 9, done: 9, succeeded: 9, failed: 0, refused: 2, duplicates: 3 });
    expect(status.accounts).toEqual({
      'acme-closient': { total: 4, done: 4, succeeded: 4, failed: 0, cancelled: 0, outcomes: { invited: 4 } },
      'acme-sutro': { total: 3, done: 3, succeeded: 3, failed: 0, cancelled: 0, outcomes: { invited: 3 } },
      'acme-uptime': { total: 2, done: 2, succeeded: 2, failed: 0, cancelled: 0, outcomes: { invited: 2 } },
    });
    const completed = (await p.events.read()).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === 'cohort-1');
    expect(completed).toHaveLength(1);
    // The HR system learns from the event alone what never became an invite.
    expect(completed[0]?.fields).toMatchObject({ total: '9', succeeded: '9', refused: '2', duplicates: '3' });
    // Role mapping: the profile's per tool; the first profile a row lists wins (bob: engineering;finance); the
    // person's own win over both.
    expect(closientRoles()).toMatchObject({
      'ada@example.com': 'editor',
      'bob@example.com': 'editor',
      'cy@example.com': 'manager',
      'eve@example.com': 'owner',
    });

    const report = await peopleReport(p.producer, 'cohort-1');
    expect(report?.accounts).toEqual(['(row)', 'acme-closient', 'acme-sutro', 'acme-uptime']);
    const byEmail = Object.fromEntries((report?.people ?? []).map((r) => [r.email.toLowerCase(), r]));
    expect(byEmail['ada@example.com']).toMatchObject({
      accounts: { 'acme-uptime': 'invited', 'acme-closient': 'invited', 'acme-sutro': 'invited' },
      summary: 'done',
    });
    expect(byEmail['eve@example.com']).toMatchObject({ summary: 'needs attention', accounts: { 'acme-closient': 'invited' } });
    expect(byEmail['eve@example.com']?.accounts['acme-uptime']).toMatch(/^refused: library person 5: role: role 'owner' is not allowed/);
    expect(byEmail['dee@example.com']?.accounts['(row)']).toMatch(/^refused: .*unknown profile 'nosuch'/);
    // The invite report tells the same story, with when: invites, then refusals and duplicates.
    const lines = [];
    for await (const line of batchReport(p.producer, 'cohort-1')) lines.push(line);
    expect(lines.filter((l) => l.state === 'completed')).toHaveLength(9);
    expect(lines.filter((l) => l.state === 'refused').map((l) => [l.email, l.account])).toEqual([
      ['dee@example.com', ''],
      ['eve@example.com', 'acme-uptime'],
    ]);
    expect(lines.filter((l) => l.state === 'duplicate').map((l) => l.message)).toEqual([
      expect.stringMatching(/library person 6: duplicate of person 1/),
      expect.stringMatching(/library person 6: duplicate of person 1/),
      expect.stringMatching(/library person 6: duplicate of person 1/),
    ]);
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.at)))).toBe(true);
  });

  it('a cohort of 1,000 people into 3 tools is one onboarding of 3,000 invites, every person done', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, config: { profiles: PROFILES } });
    cleanups.push(() => p.close());
    const people = Array.from({ length: 1000 }, (_, i) => ({ email: `hire${i}@cohort.example`, firstName: `Hire${i}` }));
    const result = await onboard(p.producer, people, { profile: 'engineering' }, { batchId: 'cohort-1000' });
    expect(result).toMatchObject({ people: 1000, accepted: 3000, duplicates: 0, rejected: [] });
    const status = await waitFor(
      async () => {
        const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'cohort-1000');
        return s?.complete ? s : undefined;
      },
      60_000,
      'the onboarding to complete',
    );
    expect(status).toMatchObject({ total: 3000, done: 3000, succeeded: 3000 });
    for (const account of Object.keys(accounts())) expect(status.accounts[account]).toMatchObject({ total: 1000, done: 1000, succeeded: 1000 });
    expect((await p.events.read('-', 100_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === 'cohort-1000')).toHaveLength(1);
    const report = await peopleReport(p.producer, 'cohort-1000');
    expect(report?.people).toHaveLength(1000);
    expect(report?.people.every((r) => r.summary === 'done' && Object.keys(r.accounts).length === 3)).toBe(true);
  }, 90_000);
});

describe('invitebus enqueue into several tools (CLI)', () => {
  const { start } = useCli(ENV);
  let configFile: string;
  let worker: ReturnType<typeof start>;
  const cli = (...args: string[]) => start(['--config', configFile, ...args]).done;
  beforeAll(async () => {
    configFile = join(dir, 'invitebus.config.json');
    writeFileSync(configFile, JSON.stringify({ redis: { url: redis.url, prefix: `${redis.prefix}-cli` }, accounts: accounts(), profiles: PROFILES }));
    worker = start(['--config', configFile, 'worker']);
    await waitFor(() => worker.stdout().includes('workers started') || worker.stderr().includes('workers started'), 20_000, 'the worker to start');
    cleanups.push(async () => {
      worker.child.kill('SIGTERM');
      await worker.done;
    });
  });

  it('takes --account a,b and repeated --account, reporting a row invalid for one tool by line and account', async () => {
    const file = join(dir, 'two-tools.csv');
    writeFileSync(file, 'email,role\nann@example.com,editor\nben@example.com,member\n');
    const run = await cli('enqueue', '--account', 'acme-uptime,acme-closient', '--account', 'acme-sutro', '--file', file, '--batch', 'two-tools', '--dry-run');
    // editor is Closient's, member Better Stack's: each row is valid for two of the three tools.
    expect(run.stderr).toMatch(/^line 2: acme-uptime: role: role 'editor' is not allowed/m);
    expect(run.stderr).toMatch(/^line 3: acme-closient: role: role 'member' is not allowed/m);
    expect(run.stdout).toMatch(/2 rows, accepted 4, duplicates 0, rejected 2/);
    expect(run.code).toBe(1);
    const unknown = await cli('enqueue', '--account', 'acme-uptime,nope', '--file', file);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown account 'nope'/);
  });

  it('--account gives the tools: a profile column is not read (its values not checked) and is listed as ignored', async () => {
    // An HR export whose departments map to profiles, sent to one tool: every row goes to that tool only.
    const file = join(dir, 'one-tool.csv');
    writeFileSync(file, 'email,profile,role\nivy@example.com,engineering,member\njon@example.com,Sales,\nkim@example.com,finance;engineering,\n');
    const run = await cli('enqueue', '--account', 'acme-uptime', '--file', file, '--batch', 'one-tool');
    expect(run.stderr).not.toMatch(/^line \d/m);
    expect(run.stdout).toMatch(/3 rows, accepted 3, duplicates 0, rejected 0 \(queued\); ignored columns: profile \(--account gives the tools\)/);
    expect(run.code).toBe(0);
    await waitFor(async () => (await cli('status', 'one-tool')).stdout.includes('complete'), 30_000, 'the batch to complete');
    expect((await cli('status', 'one-tool')).stdout).toMatch(/3\/3 done \(100%\), complete\n\s+succeeded 3/);
    // Only the named tool was called for them.
    const told = (server: FakeServer) => server.requests.map((r) => JSON.stringify(r.json ?? '')).filter((b) => /(ivy|jon|kim)@example\.com/.test(b)).length;
    expect([told(servers.uptime), told(servers.closient), told(servers.sutro)]).toEqual([3, 0, 0]);
  });

  it('onboards a file by --profile, shows each tool in status and one row per person in report --by person', async () => {
    const file = join(dir, 'cohort.csv');
    writeFileSync(file, 'email,firstName,profile\nfay@example.com,Fay,\ngus@example.com,Gus,finance\nbad-address,Hal,\n');
    const run = await cli('enqueue', '--profile', 'engineering', '--file', file, '--batch', 'cli-cohort');
    expect(run.stdout).toMatch(/3 rows, accepted 4, duplicates 0, rejected 3/);
    expect(run.stderr).toMatch(/^line 4: acme-uptime: email: 'bad-address' is not a valid email address/m);
    await waitFor(async () => (await cli('status', 'cli-cohort')).stdout.includes('complete'), 30_000, 'the onboarding to complete');
    const status = (await cli('status', 'cli-cohort')).stdout;
    expect(status).toMatch(/acme-closient: 2\/2 done, succeeded 2, failed 0 \(invited 2\)/);
    expect(status).toMatch(/acme-uptime: 1\/1 done/);
    expect(status).toMatch(/not queued: refused at intake 3, duplicates 0 \(see report\)/);
    const people = (await cli('report', 'cli-cohort', '--by', 'person')).stdout.trim().split('\n');
    expect(people[0]).toBe('email,externalId,firstName,lastName,name,acme-closient,acme-sutro,acme-uptime,summary');
    expect(people).toContain('fay@example.com,,Fay,,Fay <fay@example.com>,invited,invited,invited,done');
    expect(people).toContain('gus@example.com,,Gus,,Gus <gus@example.com>,invited,,,done');
    expect(people.find((l) => l.startsWith('bad-address'))).toMatch(
      /^bad-address,,Hal,,Hal <bad-address>,.*refused: cohort\.csv line 4: email: .*needs attention$/,
    );
  });

  it('onboards an HR export as it is: mapped columns, departments as profiles in any case, ignored columns said (issue 23)', async () => {
    // The config maps the export's columns and departments; --map gives the email column (found only by the mapping).
    const mapped = join(dir, 'hr.config.json');
    writeFileSync(
      mapped,
      JSON.stringify({
        redis: { url: redis.url, prefix: `${redis.prefix}-cli` },
        accounts: accounts(),
        profiles: PROFILES,
        intake: {
          columns: { 'Employee ID': 'externalId', 'First Name': 'firstName', 'last name': 'lastName', DEPARTMENT: 'profile' },
          values: { profile: { 'R&D': 'Engineering' } },
        },
      }),
    );
    const file = join(dir, 'hr-export.csv');
    writeFileSync(
      file,
      '\uFEFFEmployee ID;First Name;Last Name;Work Email;Department;Start Date;Manager\r\n' +
        'E-1;Ada;Lovelace;ada.hr@example.com;R&D;2026-12-01;Grace Hopper\r\n' +
        'E-2;Bob;Byte;bob.hr@example.com;FINANCE;2026-12-01;\r\n' +
        'E-3;Cy;Cole;cy.hr@example.com;"r&d;Finance";2026-12-01;\r\n' +
        'E-4;Dee;Dunn;dee.hr@example.com;Sales;2026-12-01;\r\n',
    );
    const refused = await start(['--config', mapped, 'enqueue', '--file', file]).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `'Work Email' looks like the addresses: add to the config "intake": { "columns": { "Work Email": "email" } } or pass --map 'Work Email=email'`,
    );
    const wrong = await start(['--config', mapped, 'enqueue', '--file', file, '--map', 'Work Email=mail']).done;
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown field 'mail'; a column can be: email, externalId, firstName, lastName/);

    const run = await start(['--config', mapped, 'enqueue', '--file', file, '--map', 'work email=EMAIL', '--batch', 'hr-export']).done;
    // Ada: engineering's 3 tools; Bob: finance's 1; Cy: both (3 tools); Dee's department maps to no profile.
    // Start Date is read as startDate (headers match without case, spaces, _ or -); ISO dates, no inviteAt: sent now.
    expect(run.stdout).toMatch(/4 rows, accepted 7, duplicates 0, rejected 1 \(queued\); ignored columns: Manager$/m);
    expect(run.stderr).toMatch(
      /^line 5: profile: unknown profile 'Sales'; configured profiles: engineering, finance \(or map this value to one in intake\.values\.profile\)$/m,
    );
    expect(run.code).toBe(1);
    // The overlapping profiles are said once, on stderr, through the logger.
    const warnings = run.stderr.split('\n').filter((l) => l.includes('different role'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] as string)).toMatchObject({
      level: 40,
      msg: "profiles 'engineering', 'finance' give account 'acme-closient' different role (engineering: 'editor', finance: 'billing'): a person in several of them gets the value of the first profile their row lists",
    });
    // A worker says them in its own log, once too.
    expect(
      worker
        .stdout()
        .split('\n')
        .filter((l) => l.includes("give account 'acme-closient' different role")),
    ).toHaveLength(1);
    await waitFor(async () => (await cli('status', 'hr-export')).stdout.includes('complete'), 30_000, 'the onboarding to complete');
    // Cy is in R&D (engineering) first, then Finance: engineering's Closient role wins.
    expect(closientRoles()).toMatchObject({ 'ada.hr@example.com': 'editor', 'bob.hr@example.com': 'billing', 'cy.hr@example.com': 'editor' });
    const people = (await cli('report', 'hr-export', '--by', 'person')).stdout;
    expect(people).toMatch(
      /^dee\.hr@example\.com,E-4,Dee,Dunn,Dee Dunn <dee\.hr@example\.com>,"refused: hr-export\.csv line 5: profile: unknown profile 'Sales'/m,
    );
  });
});

describe('Stellas role names in profiles', () => {
  /** Workers for one Stellas account at `baseUrl` with `profiles`; the log lines they write. */
  async function startStellasWorkers(baseUrl: string, prefix: string, profiles: Record<string, Record<string, { role: string }>>) {
    const { lines, logger } = captureLogs('info');
    const account = {
      provider: 'stellas',
      baseUrl,
      businessId: 'biz_123',
      credentials: { secretKey: { env: 'SK' }, email: { env: 'SE' }, password: { env: 'SP' } },
    };
    const config = parseConfig({ redis: { url: redis.url, prefix }, accounts: { 'acme-stellas': account }, profiles });
    const conn = redis.connect();
    const workers = await runWorkers(config, { env: { SK: 'sandbox-secret-key', SE: 'ops@acme.example', SP: 'sandbox-password' }, logger, redis: conn });
    cleanups.push(async () => {
      await workers.close();
      await conn.quit();
    });
    return lines;
  }

  it('are checked against the business role list when a worker starts, unknown names reported at once', async () => {
    const stellas = await startFakeServer(stellasFake().handler);
    cleanups.push(() => stellas.close());
    const lines = await startStellasWorkers(stellas.url, `${redis.prefix}-roles`, {
      finance: { 'acme-stellas': { role: 'Membr' } },
      ops: { 'acme-stellas': { role: 'admin' } },
    });
    await waitFor(() => lines.some((l) => l.includes('Membr')), 10_000, 'the role check');
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 50);
    expect(errors.map((e) => e.msg)).toEqual([
      expect.stringMatching(
        /^profile 'finance' for account 'acme-stellas': role: role 'Membr' does not exist in this Stellas business; known roles: admin, member$/,
      ),
    ]);
  });

  it('a role list the provider cannot give now (a 429) is a warning, not an error about the profile', async () => {
    // The demo's sandbox answers 8% of calls 429: it printed "role: could not be checked (Too many requests)" as an
    // error beside a run that then delivered every invite.
    const fake = stellasFake();
    const stellas = await startFakeServer((req) =>
      req.method === 'GET' && req.path.includes('/roles')
        ? { status: 429, body: { status: false, message: 'Too many requests', data: null } }
        : fake.handler(req),
    );
    cleanups.push(() => stellas.close());
    const lines = await startStellasWorkers(stellas.url, `${redis.prefix}-roles429`, { finance: { 'acme-stellas': { role: 'Member' } } });
    await waitFor(() => lines.some((l) => l.includes('could not be checked')), 10_000, 'the role check');
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(parsed.filter((l) => l.level >= 50)).toEqual([]);
    expect(parsed.filter((l) => l.level === 40 && l.msg.includes("profile 'finance' for account 'acme-stellas' could not be checked"))).toHaveLength(1);
  });
});
