import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { controlQueue, replaySchedule } from '../../src/worker/control-queue.ts';
import { useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const dir = tempDir('ib-cli-');
const configFile = join(dir, 'invitebus.config.json');
const { start } = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_CONFIG: configFile });
let fake: FakeServer;
let producer: Producer;
const conn = redis.connect();
const cli = (...args: string[]) => start(args).done;

beforeAll(async () => {
  fake = await startFakeServer(betterstackHandler({ members: ['member@example.com'] }));
  const raw = {
    redis: { url: redis.url, prefix: redis.prefix },
    defaults: { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    accounts: {
      acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } } },
      bulk: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } } },
    },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  producer = new Producer(parseConfig(raw), { redis: conn });
});

afterAll(async () => {
  await producer.close();
  await conn.quit();
  await fake.close();
});

describe('invitebus enqueue', () => {
  const csv = join(dir, 'hires.csv');
  const bad = new Map<number, string>();
  beforeAll(() => {
    const lines = ['\uFEFFemail,role,firstName'];
    for (let i = 0; i < 10_000; i++) {
      const line = lines.length + 1;
      if (i % 997 === 500) {
        lines.push(`person${i}-at-example.com,member,P`);
        bad.set(line, 'email');
      } else if (i === 4242) {
        lines.push(`"person${i}@example.com,member,Unclosed`);
        bad.set(line, '(row)');
      } else if (i === 777) {
        lines.push(`person${i}@example.com,owner,P`);
        bad.set(line, 'role');
      } else if (i === 9999) {
        lines.push('PERSON0@EXAMPLE.COM,member,Again');
      } else {
        lines.push(`person${i}@example.com,${i % 2 ? 'member' : 'responder'},"P, ${i}"`);
      }
    }
    writeFileSync(csv, `${lines.join('\r\n')}\r\n`);
  });

  it('--strict queues nothing when a row is bad, and says so', async () => {
    const run = await cli('enqueue', '--account', 'bulk', '--file', csv, '--strict', '--batch', 'strict-1');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/rejected 12 \(nothing queued \(--strict\)\)/);
    expect(await producer.queue('bulk').getWaitingCount()).toBe(0);
  });

  it('--dry-run validates without queueing', async () => {
    const run = await cli('enqueue', '--account', 'bulk', '--file', csv, '--dry-run');
    expect(run.stdout).toMatch(/10000 rows, accepted 9987, duplicates 1, rejected 12 \(dry run, nothing queued\)/);
    expect(await producer.queue('bulk').getWaitingCount()).toBe(0);
  });

  it('queues the valid rows of a 10,000-row CSV and reports every bad one by line, field and reason', async () => {
    const rejects = join(dir, 'rejects.csv');
    const run = await cli('enqueue', '--account', 'bulk', '--file', csv, '--batch', 'big-1', '--rejects', rejects);
    expect(run.code).toBe(1); // some rows were rejected
    expect(run.stdout).toMatch(/^batch big-1: 10000 rows, accepted 9987, duplicates 1, rejected 12 \(queued\)$/m);
    const reported = [...run.stderr.matchAll(/^line (\d+): (\S+): (.+)$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(reported).toEqual([...bad.entries()].sort((a, b) => a[0] - b[0]));
    expect(run.stderr).toMatch(/line 502: email: 'person500-at-example.com' is not a valid email address/);
    expect(run.stderr).toMatch(/^line 10001: duplicate of line 2 \(same address\)$/m);
    const file = readFileSync(rejects, 'utf8').trim().split('\n');
    expect(file[0]).toBe('line,field,message');
    expect(file).toHaveLength(14); // 12 rejected, 1 duplicate
    expect(file.at(-1)).toBe('10001,email,duplicate of line 2 (same address)');
    expect(await producer.queue('bulk').getWaitingCount()).toBe(9987);
    const again = await cli('enqueue', '--account', 'bulk', '--file', csv, '--batch', 'big-2');
    expect(again.stdout).toMatch(/accepted 0, duplicates 9988, rejected 12 \(nothing new to queue\)/);
  });

  it('exits 0 when every row is valid, and names an unknown account', async () => {
    const jsonl = join(dir, 'ok.jsonl');
    writeFileSync(jsonl, '{"email":"j1@example.com"}\n{"email":"j2@example.com","role":"member"}\n');
    const run = await cli('enqueue', '--account', 'bulk', '--file', jsonl);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/accepted 2, duplicates 0, rejected 0/);
    const unknown = await cli('enqueue', '--account', 'nope', '--file', jsonl);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown account 'nope'; configured accounts: acme, bulk");
  });

  it('reads a semicolon-separated spreadsheet export: BOM, CRLF, headers in any case', async () => {
    const file = join(dir, 'export.csv');
    writeFileSync(file, '\uFEFFEmail; ROLE ;First Name\r\nsemi1@example.com;member;Lee, Ann\r\nsemi2@example.com;;Bo\r\n');
    const run = await cli('enqueue', '--account', 'bulk', '--file', file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/2 rows, accepted 2, duplicates 0, rejected 0/);
    const job = await producer.queue('bulk').getJob(inviteJobId('bulk', 'semi1@example.com'));
    expect(job?.data.invite).toEqual({ email: 'semi1@example.com', role: 'member' });
  });

  it('detects a tab-separated file, or takes the separator from --delimiter', async () => {
    const tabs = join(dir, 'tabs.csv');
    writeFileSync(tabs, 'email\trole\ntab1@example.com\tmember\n');
    expect((await cli('enqueue', '--account', 'bulk', '--file', tabs, '--dry-run')).stdout).toMatch(/1 rows, accepted 1, duplicates 0, rejected 0/);
    expect((await cli('enqueue', '--account', 'bulk', '--file', tabs, '--dry-run', '--delimiter', 'tab')).stdout).toMatch(/accepted 1, .*rejected 0/);
    const pipes = join(dir, 'pipes.csv');
    writeFileSync(pipes, 'email|role\npipe1@example.com|member\n');
    expect((await cli('enqueue', '--account', 'bulk', '--file', pipes, '--dry-run', '--delimiter', '|')).stdout).toMatch(/accepted 1, .*rejected 0/);
    const wrong = await cli('enqueue', '--account', 'bulk', '--file', pipes, '--delimiter', 'x');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/--delimiter.*Allowed choices are ,, ;, tab, \\t, \|/);
  });

  it('says what to do when the header has no email column: the separator that would work, or how to name the column', async () => {
    const semi = join(dir, 'semi.csv');
    writeFileSync(semi, 'Email;Role\nx@example.com;member\n');
    const wrong = await cli('enqueue', '--account', 'bulk', '--file', semi, '--delimiter', ',');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("no 'email' column when separated by ',' (found: Email;Role); separated by ';' it has one: pass --delimiter ';'");
    const noEmail = join(dir, 'no-email.csv');
    writeFileSync(noEmail, 'Mail;Role\nx@example.com;member\n');
    const missing = await cli('enqueue', '--account', 'bulk', '--file', noEmail);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /no 'email' column \(found: Mail, Role\): 'Mail' looks like the addresses: add to the config "intake": \{ "columns": \{ "Mail": "email" \} \} or pass --map 'Mail=email'.*pass --delimiter/,
    );
    // The line it shows works as written.
    expect((await cli('enqueue', '--account', 'bulk', '--file', noEmail, '--map', 'Mail=email', '--dry-run')).stdout).toMatch(
      /1 rows, accepted 1, .*rejected 0/,
    );
    // A JSONL file's fields are named as they are: --map is refused for one, not ignored.
    const jsonl = join(dir, 'mapped.jsonl');
    writeFileSync(jsonl, '{"Mail":"x@example.com"}\n');
    const notCsv = await cli('enqueue', '--account', 'bulk', '--file', jsonl, '--map', 'Mail=email', '--dry-run');
    expect(notCsv.code).toBe(2);
    expect(notCsv.stderr).toContain(`--map maps the header row of a CSV file; the fields of ${jsonl} are named as they are`);
  });

  it('names each duplicate line, in its output and in --rejects, and exits 0 when duplicates are all it found', async () => {
    const first = join(dir, 'dups-1.csv');
    writeFileSync(first, 'email\ndup-a@example.com\ndup-b@example.com\n Dup-A@Example.com \n');
    const rejects = join(dir, 'dups-rejects.csv');
    const run = await cli('enqueue', '--account', 'bulk', '--file', first, '--rejects', rejects);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/3 rows, accepted 2, duplicates 1, rejected 0/);
    expect(run.stderr).toMatch(/^line 4: duplicate of line 2 \(same address\)$/m);
    expect(readFileSync(rejects, 'utf8')).toBe('line,field,message\n4,email,duplicate of line 2 (same address)\n');

    const second = join(dir, 'dups-2.csv');
    writeFileSync(second, 'email\ndup-c@example.com\nDUP-B@example.com\n');
    const again = await cli('enqueue', '--account', 'bulk', '--file', second, '--rejects', rejects);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/2 rows, accepted 1, duplicates 1, rejected 0 \(queued\)/);
    const message = `duplicate: already queued or sent (invite ${inviteJobId('bulk', 'dup-b@example.com')})`;
    expect(again.stderr).toMatch(new RegExp(`^line 3: ${message.replace(/[()]/g, '\\$&')}$`, 'm'));
    expect(readFileSync(rejects, 'utf8')).toBe(`line,field,message\n3,email,${message}\n`);
  });
});

describe('worker, status, report, stats, pause, resume, replay, events', () => {
  let worker: ReturnType<typeof start>;
  const jsonl = join(dir, 'team.jsonl');
  beforeAll(async () => {
    writeFileSync(
      jsonl,
      `${['t1', 't2', 't3', 'flaky'].map((n) => JSON.stringify({ email: `${n}@example.com` })).join('\n')}\n{"email":"member@example.com"}\n`,
    );
    worker = start(['worker', '--account', 'acme']);
    await waitFor(() => worker.stdout().includes('workers started'), 15_000, 'the worker to start');
  });
  afterAll(async () => {
    worker.child.kill('SIGTERM');
    expect((await worker.done).code).toBe(0);
  });

  it('runs the worker with a bounded young generation and its old generation capped (RSS flat in the work done)', () => {
    const wrapper = worker.child.pid as number;
    const [child] = readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--max-semi-space-size=8');
    expect(argv).toContain('--max-old-space-size=128');
  });

  it('delivers an enqueued file; status --watch follows the batch to the end; report lists every invite', async () => {
    fake.script({ status: 422, body: B.invalidEmail }); // the first call is refused for good
    const run = await cli('enqueue', '--account', 'acme', '--file', jsonl, '--batch', 'team-1');
    expect(run.code).toBe(0);
    const watch = await cli('status', 'team-1', '--watch');
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/batch team-1: 5\/5 done \(100%\), complete/);
    const status = await cli('status', 'team-1');
    expect(status.stdout).toMatch(/succeeded 4, failed 1, pending 0/);
    expect(status.stdout).toMatch(/failure reasons: rejected 1/);
    const csv = await cli('report', 'team-1');
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('inviteId,account,email,externalId,firstName,lastName,state,outcome,reason,attempts,status,requestId,message,at');
    expect(lines).toHaveLength(6);
    const json = (await cli('report', 'team-1', '--format', 'json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.filter((l) => l.state === 'failed')).toEqual([
      expect.objectContaining({ outcome: 'rejected', reason: 'rejected', status: '422', message: B.invalidEmail.errors }),
    ]);
    expect(json.find((l) => l.email === 'member@example.com')).toMatchObject({ outcome: 'already_member', state: 'completed' });
    // One person across accounts: invitebus find.
    const refused = json.find((l) => l.state === 'failed').email;
    const found = await cli('find', refused);
    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(/^acme: failed \(rejected, reason rejected, attempts 1, HTTP 422\) finished \d{4}-/m);
    const fine = json.find((l) => l.state === 'completed' && l.outcome === 'invited').email as string;
    const foundJson = JSON.parse((await cli('find', fine.toUpperCase(), '--json')).stdout.trim());
    expect(foundJson).toMatchObject({ account: 'acme', email: fine, state: 'completed', outcome: 'invited' });
    expect((await cli('find', 'nobody@example.com')).code).toBe(1);
    // Not an address at all is a usage error (exit 2) before anything is read.
    const notAnAddress = await cli('find', 'not-an-email');
    expect(notAnAddress.code).toBe(2);
    expect(notAnAddress.stderr).toMatch(/'not-an-email' is not a valid email address/);
    expect((await cli('status', 'nope')).code).toBe(1);
  });

  it('replays failed invites (dry run first), never an invite that succeeded', async () => {
    const before = fake.requests.length;
    expect((await cli('replay', '--batch', 'team-1', '--dry-run')).stdout).toMatch(/would replay 1 failed invites \(acme 1, bulk 0\)/);
    // Changed fields are checked by the provider schema before anything moves.
    const refused = await cli('replay', '--batch', 'team-1', '--set', 'role=wizard');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/replay refused, nothing was moved: acme: role: /);
    expect((await cli('replay', '--batch', 'team-1', '--set', 'role')).code).toBe(2);
    expect(fake.requests.length - before).toBe(0);
    const replayed = await cli('replay', '--batch', 'team-1', '--reason', 'rejected', '--since', '1h', '--set', 'role=member');
    expect(replayed.stdout).toMatch(/replayed 1 failed invites/);
    await waitFor(async () => (await cli('status', 'team-1')).stdout.includes('succeeded 5'), 15_000, 'the replayed invite');
    expect(fake.requests.length - before).toBe(1);
    expect(fake.requests.at(-1)?.json).toMatchObject({ role: 'member' });
    expect((await cli('replay', '--batch', 'team-1')).stdout).toMatch(/replayed 0/);
    expect((await cli('replay', '--since', 'soon')).code).not.toBe(0);
  });

  it('schedules and unschedules replays', async () => {
    expect((await cli('replay', 'schedule', '--every', '1h', '--reason', 'retries_exhausted')).stdout).toContain('replay scheduled every 3600 s');
    const queue = controlQueue(producer.config, conn);
    expect(await replaySchedule(queue)).toMatchObject({ every: 3_600_000, filter: { reason: 'retries_exhausted' } });
    expect((await cli('replay', 'unschedule')).stdout).toContain('scheduled replay removed');
    expect(await replaySchedule(queue)).toBeUndefined();
    await queue.close();
  });

  it('pauses and resumes an account; stats show the state', async () => {
    expect((await cli('pause', 'acme')).stdout).toContain('acme: paused');
    expect((await cli('stats')).stdout).toMatch(/^acme\s+betterstack\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+paused \(operator\)$/m);
    const json = JSON.parse((await cli('stats', '--json')).stdout);
    expect(json).toEqual(expect.arrayContaining([expect.objectContaining({ account: 'acme', paused: true, pausedReason: 'operator', completed: 5 })]));
    expect((await cli('resume', 'acme')).stdout).toContain('acme: resumed');
    expect((await cli('resume', 'acme')).stdout).toContain('acme: already running');
  });

  it('prints events; with a consumer group, acknowledges them so a second read gets none', async () => {
    const all = await cli('events');
    const types = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type);
    expect(types).toEqual(expect.arrayContaining(['invite.succeeded', 'invite.failed', 'batch.completed', 'account.paused', 'account.resumed']));
    const first = await cli('events', '--group', 'hr-sync', '--consumer', 'c1');
    expect(first.stdout.trim().split('\n').length).toBe(types.length);
    const second = await cli('events', '--group', 'hr-sync', '--consumer', 'c1');
    expect(second.stdout.trim()).toBe('');
  });
});

describe('invitebus sandbox and demo', () => {
  it('sandbox serves the five providers until SIGTERM', async () => {
    // Any free ports (`--port 0`): five consecutive ports after a free one may be taken meanwhile (CI saw
    // EADDRINUSE on the fifth: the ephemeral range is shared with every outgoing connection).
    const written = join(dir, 'sandbox.config.json');
    const sandbox = start(['sandbox', '--port', '0', '--write-config', written]);
    await waitFor(() => sandbox.stdout().includes('config written'), 15_000, 'the sandbox').catch((e: Error) => {
      throw new Error(`${e.message}; its stderr: ${sandbox.stderr().slice(-1500)}`);
    });
    expect(sandbox.stdout()).toMatch(/sutro\s+http:\/\/127\.0\.0\.1:\d+/);
    const betterstack = /betterstack\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(sandbox.stdout())?.[1];
    const res = await fetch(`${betterstack}/api/v2/team-members`, {
      method: 'POST',
      headers: { authorization: 'Bearer bs-team-token', 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'sb@example.com' }),
    });
    expect(res.status).toBe(201);
    expect(Object.keys(JSON.parse(readFileSync(written, 'utf8')).accounts)).toHaveLength(5);
    sandbox.child.kill('SIGTERM');
    expect((await sandbox.done).code).toBe(0);
  });

  // A busy machine (CI beside other jobs) took over 15 s to start the sandbox: the wait has its own bound.
  it('runs its work with bounded young-generation memory, and never outlives its wrapper', { timeout: 60_000 }, async () => {
    const sandbox = start(['sandbox', '--port', '0']);
    await waitFor(() => sandbox.stdout().includes('sutro'), 40_000, 'the sandbox').catch((e: Error) => {
      throw new Error(`${e.message}; its stderr: ${sandbox.stderr().slice(-1500)}`);
    });
    const wrapper = sandbox.child.pid as number;
    const [child] = readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=8');
    sandbox.child.kill('SIGKILL');
    await waitFor(
      () => {
        try {
          process.kill(child as number, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      'the orphaned child to stop',
    );
  });

  it('demo --keep leaves the console running with a login token until Ctrl-C', { timeout: 120_000 }, async () => {
    const demo = start(['demo', '--keep'], { REDIS_URL: redis.url });
    await waitFor(() => /log in with the token (\w+)/.test(demo.stdout()), 60_000, 'the demo to keep running');
    const consoleUrl = /The console: (http:\/\/[^\s]+)/.exec(demo.stdout())?.[1] ?? '';
    const token = /log in with the token (\w+)/.exec(demo.stdout())?.[1] ?? '';
    const base = consoleUrl.replace(/\/console$/, '');
    const form = await fetch(`${base}/login`);
    const cookies = form.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.join('; ') },
      body: new URLSearchParams({ token, _csrf: csrf, next: '/console' }).toString(),
    });
    expect(login.status).toBe(303);
    const session = login.headers.getSetCookie().map((c) => c.split(';')[0]);
    const page = await fetch(consoleUrl, { headers: { cookie: [...cookies, ...session].join('; ') } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-account="sandbox-sutro"');
    demo.child.kill('SIGINT');
    expect((await demo.done).code).toBe(0);
    expect(await redis.admin.keys('invitebus-demo-*')).toEqual([]);
  });

  it('demo runs end to end and exits 0 with the numbers adding up', { timeout: 120_000 }, async () => {
    const demo = await start(['demo'], { REDIS_URL: redis.url }).done;
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stdout).toContain('every invite reached a terminal outcome, the numbers add up and the HR system was told');
    // 40 people by profile: 13 engineering (3 tools), 14 finance (2 tools), 13 both (5 tools); the invalid address refused in 3.
    expect(demo.stdout).toMatch(/onboarding demo-\d+: 133 invites accepted through POST \/v1\/onboardings/);
    expect(demo.stdout).toMatch(/41 people: 40 done, 1 needs attention/);
    expect(demo.stdout).toMatch(/webhook receiver got (\d+) of \1 events \(invite\.succeeded 133, batch\.completed 1\), every signature valid/);
    // The demo cleans up after itself in a Redis it did not start.
    expect(await redis.admin.keys('invitebus-demo-*')).toEqual([]);
  });
});
