import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHrCsv } from '../hr-export.ts';
import { betterstack, type Result, redis, timed } from '../lib.ts';

const BIN = join(import.meta.dirname, '../../bin/invitebus.js');
const RAW = join(import.meta.dirname, 'raw-add-bulk.ts');
const ROWS = Number(process.env.BENCH_INTAKE_ROWS ?? 1_000_000);

/**
 * Intake of any size (issue 20): an HR export of ROWS people (bench/hr-export.ts, ~75 bytes a row, a profile
 * column) through `invitebus enqueue` as shipped (bin/invitebus.js: 8 MB semi-spaces, 128 MB old generation),
 * its --dry-run, and raw BullMQ addBulk of the same jobs (same ids, data, options) in a fresh process, all in
 * the same run against the same Redis.
 */
export async function intakeScenario(): Promise<Result[]> {
  const r = await redis();
  const dir = mkdtempSync(join(tmpdir(), 'ib-bench-intake-'));
  try {
    const file = join(dir, `hr-${ROWS}.csv`);
    const bytes = await writeHrCsv(file, ROWS);
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        redis: { url: r.url, prefix: 'intake' },
        accounts: { acme: betterstack('https://betterstack.com') },
        profiles: { staff: { acme: { role: 'member' } } },
      }),
    );
    const enqueue = async (extra: string[]) => {
      const res = await timed([BIN, 'enqueue', '--config', configPath, '--file', file, ...extra]);
      if (Number(/accepted (\d+)/.exec(res.out)?.[1]) !== ROWS) throw new Error(`enqueue did not accept every row: ${res.out.slice(-2_000)}`);
      return res;
    };
    const dry = await enqueue(['--dry-run']);
    const ours = await enqueue(['--batch', 'intake']);
    const raw = await timed([RAW, r.url, 'raw', String(ROWS)]);
    const name = `9. intake of any size: ${ROWS.toLocaleString('en')}-row HR export (${(bytes / 1e6).toFixed(0)} MB CSV, process start included)`;
    const oursRate = ROWS / (ours.ms / 1000);
    const rawRate = ROWS / (raw.ms / 1000);
    return [
      {
        scenario: name,
        metric: 'peak RSS of `invitebus enqueue` as shipped',
        value: ours.peakMB,
        unit: 'MB',
        baseline: { name: 'raw queue.addBulk process of the same jobs', value: raw.peakMB },
        ratio: ours.peakMB / raw.peakMB,
        target: '≤ 250 MB',
        met: ours.peakMB <= 250,
      },
      {
        scenario: name,
        metric: 'peak RSS of `invitebus enqueue --dry-run` as shipped',
        value: dry.peakMB,
        unit: 'MB',
        target: '≤ 250 MB',
        met: dry.peakMB <= 250,
        note: `dry run took ${(dry.ms / 1000).toFixed(1)} s`,
      },
      {
        scenario: name,
        metric: 'invites/s through `invitebus enqueue` (validation, duplicate checks, batch counters)',
        value: oursRate,
        unit: '/s',
        baseline: { name: 'raw queue.addBulk of the same jobs', value: rawRate },
        ratio: oursRate / rawRate,
        note: `${(ours.ms / 1000).toFixed(1)} s vs ${(raw.ms / 1000).toFixed(1)} s`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await r.destroy();
  }
}
