/**
 * `npm run bench [-- scenario ...]`: every scenario prints its figures next to a baseline measured in the same
 * run on the same machine, and all results are written to bench/results/<time>.json. Not part of the tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, print, type Result } from './lib.ts';
import { accountsScenario } from './scenarios/accounts.ts';
import { enqueueScenario } from './scenarios/enqueue.ts';
import { intakeScenario } from './scenarios/intake.ts';
import { latencyScenario } from './scenarios/latency.ts';
import { massScenario } from './scenarios/mass.ts';
import { memoryScenario } from './scenarios/memory.ts';
import { overheadScenario } from './scenarios/overhead.ts';
import { queueStreamsScenario } from './scenarios/queue-streams.ts';
import { rateLimitScenario } from './scenarios/rate-limit.ts';
import { redisCeilingScenario } from './scenarios/redis-ceiling.ts';
import { redisRecoveryScenario } from './scenarios/redis-recovery.ts';
import { replicatedScenario } from './scenarios/replicated.ts';
import { scalingScenario } from './scenarios/scaling.ts';
import { tailScenario } from './scenarios/tail.ts';
import { webhooksScenario } from './scenarios/webhooks.ts';

const scenarios: Record<string, () => Promise<Result[]>> = {
  'rate-limit': rateLimitScenario,
  overhead: overheadScenario,
  enqueue: enqueueScenario,
  latency: latencyScenario,
  mass: massScenario,
  scaling: scalingScenario,
  webhooks: webhooksScenario,
  tail: tailScenario,
  intake: intakeScenario,
  'redis-ceiling': redisCeilingScenario,
  'redis-recovery': redisRecoveryScenario,
  replicated: replicatedScenario,
  memory: memoryScenario,
  accounts: accountsScenario,
  'queue-streams': queueStreamsScenario,
};

const chosen = process.argv.slice(2).filter((a) => a !== '--');
for (const name of chosen) {
  if (!(name in scenarios)) {
    console.error(`unknown scenario '${name}'; scenarios: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
}
const m = machine();
console.log(`machine: ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.redis}`);
const results: Result[] = [];
for (const name of chosen.length ? chosen : Object.keys(scenarios)) {
  const started = Date.now();
  console.log(`\n== ${name}`);
  for (const r of await (scenarios[name] as () => Promise<Result[]>)()) {
    print(r);
    results.push(r);
  }
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify({ machine: m, at: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`\nresults: ${file}`);
process.exit(0);
