/**
 * Issue 23, end to end: an HR export as an HR system writes it (its own headers in any letter case, `,` and `;`,
 * a BOM, CRLF, departments in any case, start dates in three time zones, a column nobody mapped) onboarded through
 * the CLI into the five sandbox providers, one hire withdrawn before their start. Right people, right tools, right
 * times; names and the HR id in every result (events, webhooks, reports, find); one batch.completed that counts
 * the cancelled.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { decodeSentRecord } from '../../src/invites/sent-record.ts';
import { peopleReport } from '../../src/onboarding/people.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { Producer } from '../../src/producer.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { BIN } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';
import { wallClock } from '../support/wall-clock.ts';

const redis = useRedis(import.meta.url);
const run = promisify(execFile);
const SECRET = `whsec_${Buffer.from('hr-export-test-secret-32-bytes!!').toString('base64')}`;
const BATCH = 'hr-2026-12';

/** The instant's wall clock in a zone as an HR system writes a start date-time: "2026-11-26T09:12:07". */
function localIso(epochMs: number, zone: string): string {
  const c = wallClock(epochMs, zone);
  return `${c.year}-${c.month}-${c.day}T${c.hour}:${c.minute}:${c.second}`;
}

let sandbox: Sandbox;
let receiver: FakeServer;
const deliveries: Array<{ body: string; headers: Record<string, string> }> = [];
beforeAll(async () => {
  sandbox = await startSandbox();
  receiver = await startFakeServer((req) => {
    deliveries.push({ body: req.body, headers: req.headers as Record<string, string> });
    return { status: 204 };
  });
});
afterAll(async () => {
  await sandbox?.close();
  await receiver?.close();
});

describe('an HR export as it is, onboarded end to end', () => {
  it('reaches the right people in the right tools at the right times, names and ids in every result, the withdrawn hire counted cancelled', {
    timeout: 90_000,
  }, async () => {
    const account = (provider: string) => sandbox.accounts[`sandbox-${provider}`] as Record<string, unknown>;
    const raw = {
      redis: { url: redis.url, prefix: `${redis.prefix}-hr` },
      accounts: {
        'acme-uptime': account('betterstack'),
        'acme-closient': account('closient'),
        'acme-sutro': account('sutro'),
        'acme-unibee': account('unibee'),
        'acme-stellas': account('stellas'),
      },
      // Invited at the start's own time (its date-time), in the person's zone.
      profiles: {
        engineering: { inviteAt: { daysBefore: 0 }, 'acme-uptime': { role: 'member' }, 'acme-closient': { role: 'editor' }, 'acme-sutro': {} },
        finance: { inviteAt: { daysBefore: 0 }, 'acme-unibee': { roleIds: ['1'] }, 'acme-stellas': { role: 'Member' } },
      },
      intake: {
        columns: {
          'Employee ID': 'externalId',
          'First Name': 'firstName',
          'Last Name': 'lastName',
          'Work Email': 'email',
          Department: 'profile',
          'Start Date': 'startDate',
          'Time Zone': 'timeZone',
        },
        values: { profile: { 'R&D': 'engineering' } },
        timeZone: 'Europe/Berlin',
      },
      webhooks: {
        hr: { url: receiver.url, secret: { env: 'HR_SECRET' }, events: ['invite.succeeded', 'invite.failed', 'invite.cancelled', 'batch.completed'] },
      },
      defaults: { retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 }, rateLimited: { baseDelayMs: 50, maxDelayMs: 500 } },
    };
    const config = parseConfig(raw);
    const dir = tempDir('ib-hr-export-');
    writeFileSync(join(dir, 'invitebus.config.json'), JSON.stringify(raw));

    // Start date-times a few seconds ahead, each written as its own zone's wall clock; one start months away. Far
    // enough ahead that both files are queued before the first start, even on a busy machine (two CLI processes):
    // were the first file's invites all sent before the second file arrived, the onboarding would complete twice,
    // as documented for an onboarding that grows after it completed.
    const base = Math.ceil((Date.now() + 15_000) / 1000) * 1000;
    const ada = { at: base, zone: 'America/New_York' };
    const grace = { at: base + 1_000, zone: 'Asia/Tokyo' };
    const edsger = { at: base + 2_000, zone: 'Europe/Berlin' };
    const bom = '\uFEFF';
    const comma = [
      'Employee ID,First Name,Last Name,Work Email,Department,Start Date,Time Zone,Manager',
      `E-1001,Ada,Lovelace,ada@example.com,R&D,${localIso(ada.at, ada.zone)},${ada.zone},Charles Babbage`,
      `E-1002,Grace,Hopper,grace@example.com,FINANCE,${localIso(grace.at, grace.zone)},${grace.zone},Howard Aiken`,
      'E-1003,Alan,Turing,alan@example.com,r&d,,,Max Newman',
    ];
    const semicolon = [
      'EMPLOYEE ID;first name;LAST NAME;work email;department;START DATE;time zone;Manager',
      // No zone in the row: intake.timeZone (Berlin).
      `E-2001;Edsger;Dijkstra;edsger@example.com;Finance;${localIso(edsger.at, edsger.zone)};;Adriaan van Wijngaarden`,
      // Starts in March (a spreadsheet's date form): withdrawn before that.
      'E-2002;Barbara;Liskov;barbara@example.com;Engineering;01.03.2027;Asia/Tokyo;John McCarthy',
    ];
    writeFileSync(join(dir, 'hires-us.csv'), `${bom}${comma.join('\r\n')}\r\n`);
    writeFileSync(join(dir, 'hires-eu.csv'), `${bom}${semicolon.join('\r\n')}\r\n`);
    const cli = (...args: string[]) =>
      run(process.execPath, [BIN, ...args, '--config', join(dir, 'invitebus.config.json')], { env: { ...process.env, HR_SECRET: SECRET }, timeout: 60_000 });

    const producer = new Producer(config);
    const workers = await runWorkers(config, { env: { ...SANDBOX_CREDENTIALS, HR_SECRET: SECRET }, logger: pino({ level: 'silent' }) });
    try {
      const us = await cli('enqueue', '--file', join(dir, 'hires-us.csv'), '--batch', BATCH);
      const eu = await cli('enqueue', '--file', join(dir, 'hires-eu.csv'), '--batch', BATCH);
      // Both files queued before the first start (else the test, not the product, would be wrong: see base).
      expect(Date.now()).toBeLessThan(ada.at);
      // Right people into the right tools: 3 engineers x 3 tools + 2 in finance x 2 tools = 13; nothing refused.
      expect(us.stdout).toMatch(/3 rows, accepted 8, duplicates 0, rejected 0/);
      expect(eu.stdout).toMatch(/2 rows, accepted 5, duplicates 0, rejected 0/);
      for (const out of [us.stdout, eu.stdout]) expect(out).toMatch(/ignored columns: Manager/);

      // The withdrawn hire: her three scheduled invites cancelled before anything is sent.
      const cancelled = await cli('cancel', 'barbara@example.com', '--batch', BATCH);
      expect(cancelled.stdout).toMatch(/3 pending invites cancelled/);

      const status = await waitFor(
        async () => {
          const s = await batchStatus(producer.redis, config.redis.prefix, BATCH);
          return s?.complete ? s : undefined;
        },
        45_000,
        'the onboarding complete',
      );
      expect(status).toMatchObject({ total: 13, succeeded: 10, failed: 0, cancelled: 3, refused: 0 });

      // Right times: each scheduled invite went out at its start, never before; Alan (no date) at once.
      const tools = { engineering: ['acme-uptime', 'acme-closient', 'acme-sutro'], finance: ['acme-unibee', 'acme-stellas'] };
      const when = [
        ['ada@example.com', tools.engineering, ada.at],
        ['grace@example.com', tools.finance, grace.at],
        ['edsger@example.com', tools.finance, edsger.at],
        ['alan@example.com', tools.engineering, undefined],
      ] as const;
      const keys = invitebusKeys(config.redis.prefix);
      for (const [email, accounts, at] of when) {
        for (const a of accounts) {
          // A success keeps its sent record (the BullMQ job is gone once completed).
          const sent = decodeSentRecord(await producer.redis.get(keys.sent(a, inviteJobId(a, email))));
          expect(sent?.finishedAt, `${email} in ${a}`).toBeDefined();
          if (at === undefined) expect(sent?.scheduledFor).toBeUndefined();
          else {
            expect(sent?.scheduledFor, `${email} in ${a}`).toBe(at);
            const provider = config.accounts[a]?.provider as keyof typeof sandbox.servers;
            const calls = (sandbox.servers[provider]?.requests ?? []).filter((r) => r.body.includes(email));
            expect(calls.length, `${email} called in ${a}`).toBeGreaterThan(0);
            for (const c of calls) expect(c.at).toBeGreaterThanOrEqual(at);
          }
        }
      }
      // Barbara's tools were never called.
      const called = Object.values(sandbox.servers).flatMap((s) => s.requests.map((r) => r.body));
      expect(called.some((b) => b.includes('barbara@example.com'))).toBe(false);
      expect(called.some((b) => b.includes('E-1001'))).toBe(false); // the HR id goes to no provider

      // One batch.completed, counting the cancelled; every invite event names the person by id and name.
      const events = (await producer.events().read()).map((e) => e.fields);
      const completed = events.filter((e) => e.type === 'batch.completed' && e.batchId === BATCH);
      expect(completed).toHaveLength(1);
      expect(completed[0]).toMatchObject({ total: '13', succeeded: '10', cancelled: '3' });
      const invites = events.filter((e) => e.type?.startsWith('invite.') && e.batchId === BATCH);
      expect(invites).toHaveLength(13);
      for (const e of invites) expect(e.externalId, `${e.type} ${e.email}`).toMatch(/^E-\d{4}$/);
      expect(invites.filter((e) => e.type === 'invite.cancelled').map((e) => [e.externalId, e.firstName, e.lastName])).toEqual(
        Array(3).fill(['E-2002', 'Barbara', 'Liskov']),
      );

      // The HR system's webhook gets the same, signed.
      const verifier = new Webhook(SECRET);
      const hooks = await waitFor(
        () => {
          const got = deliveries.map((d) => verifier.verify(d.body, d.headers) as { type: string; data: Record<string, unknown> });
          return got.some((g) => g.type === 'batch.completed') && got.filter((g) => g.type.startsWith('invite.')).length >= 13 ? got : undefined;
        },
        20_000,
        'the webhook deliveries',
      );
      const ada1 = hooks.find((h) => h.type === 'invite.succeeded' && h.data.email === 'ada@example.com');
      expect(ada1?.data).toMatchObject({ externalId: 'E-1001', firstName: 'Ada', lastName: 'Lovelace' });
      expect(hooks.find((h) => h.type === 'batch.completed')?.data).toMatchObject({ cancelled: 3 });

      // The report by person: each person once, with their id and names, the right summary.
      const report = await peopleReport(producer, BATCH);
      const people = Object.fromEntries((report?.people ?? []).map((p) => [p.email, p]));
      expect(Object.keys(people).sort()).toEqual(['ada@example.com', 'alan@example.com', 'barbara@example.com', 'edsger@example.com', 'grace@example.com']);
      expect(people['barbara@example.com']).toMatchObject({ externalId: 'E-2002', firstName: 'Barbara', lastName: 'Liskov', summary: 'withdrawn' });
      expect(people['grace@example.com']).toMatchObject({ externalId: 'E-1002', summary: 'done' });
      expect(Object.keys(people['grace@example.com']?.accounts ?? {}).filter((a) => people['grace@example.com']?.accounts[a])).toEqual(
        expect.arrayContaining(tools.finance),
      );

      // find, as support would look someone up.
      const found = await cli('find', 'edsger@example.com');
      expect(found.stdout).toMatch(/Edsger Dijkstra, externalId E-2001/);
      // The withdrawn hire's jobs are gone; their tombstones still name her.
      const gone = await cli('find', 'barbara@example.com');
      expect(gone.stdout).toMatch(/cancelled .*\[Barbara Liskov, externalId E-2002\]/);
    } finally {
      await workers.close();
      await producer.close();
    }
  });
});
