/** Baseline process for the enqueue scenario: the jobs `invitebus enqueue` would create, with raw addBulk. */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { inviteJobId } from '../../src/policies/job-id.ts';

const [url = '', prefix = 'raw', rowsText = '0'] = process.argv.slice(2);
const rows = Number(rowsText);
const connection = new Redis(url);
const queue = new Queue('acme', { connection, prefix });
const now = Date.now();
for (let i = 0; i < rows; i += 1000) {
  await queue.addBulk(
    Array.from({ length: Math.min(1000, rows - i) }, (_, k) => {
      const email = `person${i + k}@example.com`;
      return {
        name: 'invite',
        data: { account: 'acme', provider: 'betterstack', invite: { email, role: 'member' }, enqueuedAt: now, batchId: 'raw' },
        opts: {
          jobId: inviteJobId('acme', email),
          attempts: 8,
          backoff: { type: 'invitebus' },
          removeOnComplete: { age: 604800 },
          removeOnFail: { age: 2592000 },
        },
      };
    }),
  );
}
await queue.close();
await connection.quit();
