import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { enqueueFile, type RejectedRow } from '../../src/cli/enqueue.ts';
import { parseConfig } from '../../src/config/load.ts';
import { readInvites } from '../../src/input/readers.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const conn = redis.connect();
const dir = tempDir('ib-fuzz-');
let runs = 0;
const producers: Producer[] = [];
afterAll(async () => {
  for (const p of producers) await p.close();
  await conn.quit();
});

function freshProducer(): Producer {
  runs += 1;
  const p = new Producer(
    parseConfig({
      redis: { url: redis.url, prefix: `${redis.prefix}-${runs}` },
      accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
    }),
    { redis: conn },
  );
  producers.push(p);
  return p;
}

const csvCell = (s: string) => (/[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const local = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
/** A good row: a valid address (letter case varies, so duplicates hide in case), a role, a free-text name. */
const goodRow = fc.record({
  email: fc.tuple(local, fc.constantFrom('example.com', 'acme.io'), fc.boolean()).map(([l, d, upper]) => (upper ? `${l}@${d}`.toUpperCase() : `${l}@${d}`)),
  role: fc.constantFrom('responder', 'member', 'team_lead', 'billing_admin', ''),
  name: fc.string({ maxLength: 30 }).filter((s) => !/[\r\n\u0000-\u001f\u007f]/.test(s) && s.trim() === s),
});
/** A bad row: a garbage line, an invalid address, a role that is not allowed, a huge field, or raw bytes. */
const badRow = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\r\n]/.test(s) && !s.includes('@') && s.trim() !== ''),
  fc.constantFrom('not-an-address,member,X', 'a@x.io,admin,X', 'b@x.io,owner,Y', '"unclosed@x.io,member,Z', 'c@x.io,member,Z,extra,cells'),
  fc.integer({ min: 300, max: 20_000 }).map((n) => `${'z'.repeat(n)}@example.com,member,Huge`),
  // Raw bytes, often invalid UTF-8 (mixed encodings): no line break, no '@'.
  fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => Buffer.from(b.filter((x) => x > 32 && x !== 64))),
);
type Bad = string | Buffer;
const blank = (b: Bad) => (typeof b === 'string' ? b : b.toString('utf8')).trim() === '';

describe('bad input never loses data (property-based)', () => {
  it('CSV: never a crash; every bad line named; every good row queued exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 3, arbitrary: goodRow.map((r) => ({ good: r })) }, { weight: 1, arbitrary: badRow.map((b) => ({ bad: b })) }), {
          maxLength: 40,
        }),
        fc.boolean(),
        fc.boolean(),
        async (rows, crlf, bom) => {
          const eol = crlf ? '\r\n' : '\n';
          const lines: Buffer[] = [
            Buffer.from(`${bom ? '\uFEFF' : ''}email,role,firstName`),
            ...rows.map((r) => ('good' in r ? Buffer.from([r.good.email, r.good.role, r.good.name].map(csvCell).join(',')) : Buffer.from(r.bad))),
          ];
          const path = join(dir, `f${runs}.csv`);
          writeFileSync(path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from(eol)])));
          const producer = freshProducer();
          const refused: RejectedRow[] = [];
          const summary = await enqueueFile(producer, {
            accounts: ['acme'],
            file: path,
            onRow: (r) => {
              if (!r.message.startsWith('duplicate')) refused.push(r);
            },
          });
          const distinct = new Set(rows.filter((r) => 'good' in r).map((r) => ('good' in r ? r.good.email.toLowerCase() : '')));
          const goodCount = rows.filter((r) => 'good' in r).length;
          // Every line is accounted for: queued, a duplicate of another line, or rejected with its line number.
          expect(summary.accepted + summary.duplicates + summary.rejected).toBe(rows.filter((r) => 'good' in r || !blank(r.bad)).length);
          expect(summary.accepted).toBe(distinct.size);
          expect(summary.duplicates).toBe(goodCount - distinct.size);
          const badLines = rows.flatMap((r, i) => ('bad' in r && !blank(r.bad) ? [i + 2] : []));
          expect(refused.map((r) => r.line)).toEqual(badLines);
          for (const r of refused) expect(r.field).toMatch(/^(\(row\)|email|role|firstName)$/);
          expect(await producer.queue('acme').getWaitingCount()).toBe(distinct.size);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('JSONL: never a crash; every line is a record or a named error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.json(),
            fc.string({ maxLength: 50 }).filter((s) => !/[\r\n]/.test(s)),
            goodRow.map((r) => JSON.stringify({ email: r.email, role: r.role || undefined })),
          ),
          { maxLength: 30 },
        ),
        async (lines) => {
          const path = join(dir, `j${runs++}.jsonl`);
          writeFileSync(path, `${lines.map((l) => l.replace(/[\r\n]/g, ' ')).join('\n')}\n`);
          const seen: number[] = [];
          for await (const row of readInvites(path)) {
            seen.push(row.line);
            if ('error' in row) expect(row.field).toBe('(row)');
            else expect(typeof row.record).toBe('object');
          }
          const expected = lines.flatMap((l, i) => (l.replace(/[\r\n]/g, ' ').trim() === '' ? [] : [i + 1]));
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('API body: any JSON gets 202, 400, 404 or 413, never a 500', async () => {
    const producer = freshProducer();
    const app = await buildApi({ producer, token: 't', registry: createMetrics().registry, bodyLimit: 16 * 1024 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.anything(),
            fc.record({
              account: fc.constantFrom('acme', 'nope', ''),
              invites: fc.array(
                fc.oneof(
                  fc.anything(),
                  goodRow.map((r) => ({ email: r.email })),
                ),
              ),
            }),
            fc.record({ account: fc.constant('acme'), invite: fc.dictionary(fc.string(), fc.anything()) }),
          ),
          async (body) => {
            const res = await app.inject({
              method: 'POST',
              url: '/v1/invites',
              headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
              payload: JSON.stringify(body) ?? 'null',
            });
            expect([202, 400, 404, 413]).toContain(res.statusCode);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await app.close();
    }
  });
});
