/**
 * Every documented example runs (issue 23: the README's profile gave UniBee a role id the sandbox does not have,
 * so every UniBee invite of it failed). Each JSON, CSV and JSONL block of the README and docs/ is taken as written
 * and run against the sandbox: a config block is loaded (fragments such as `"profiles": { … }` on top of the
 * blocks before it in the same file) with the docs' account names pointed at the sandbox's providers, and every
 * profile it defines onboards one person, every invite of whom must succeed; a CSV or JSONL block is enqueued with
 * the CLI, as a reader would, and must be queued and delivered whole. A block that is meant to be read, not run,
 * is fenced as `text`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../src/batches.ts';
import { type Config, parseConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { onboard } from '../src/onboarding/onboard.ts';
import { Producer } from '../src/producer.ts';
import type { ProviderId } from '../src/providers/index.ts';
import { fakeOf } from '../src/sandbox/fakes.ts';
import { EXAMPLE_ACCOUNTS, SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '../src/sandbox/index.ts';
import { runWorkers } from '../src/worker/run.ts';
import { BIN } from './support/cli.ts';
import { waitFor } from './support/pipeline.ts';
import { useRedis } from './support/redis.ts';
import { tempDir } from './support/temp-dir.ts';

const root = join(import.meta.dirname, '..');
const redis = useRedis(import.meta.url);

/** The account names the docs use, one per provider (docs/README.md; `sandbox --write-config` writes them). */
const DOC_ACCOUNTS: Readonly<Record<string, ProviderId>> = Object.fromEntries(Object.entries(EXAMPLE_ACCOUNTS).map(([id, name]) => [name, id as ProviderId]));

/** Secrets the docs' examples name by `{ env }`, given here as a reader would export them. */
const DOC_ENV: Record<string, string> = { HR_WEBHOOK_SECRET: `whsec_${Buffer.from('docs-example-secret-32-bytes-long').toString('base64')}` };

/** The config's top-level keys: a JSON block of only these is a config (or a fragment of one) and is run. */
const CONFIG_KEYS = new Set(Object.keys(configSchema.shape));

interface Snippet {
  file: string;
  line: number;
  lang: string;
  text: string;
}

/** The README and every Markdown file under docs/. */
function docFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return [join(root, 'README.md'), ...walk(join(root, 'docs'))].filter((f) => existsSync(f));
}

/** The fenced blocks of one file with their language and first line. */
function snippetsOf(file: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  let open: { lang: string; line: number; body: string[] } | undefined;
  lines.forEach((text, i) => {
    const fence = /^\s*```\s*([\w-]*)/.exec(text);
    if (fence && open === undefined) open = { lang: (fence[1] ?? '').toLowerCase(), line: i + 2, body: [] };
    else if (fence && open !== undefined) {
      out.push({ file: relative(root, file), line: open.line, lang: open.lang, text: open.body.join('\n') });
      open = undefined;
    } else open?.body.push(text);
  });
  return out;
}

/** A JSON block as an object: a whole document, or a fragment of one (`"profiles": { … }`). */
function parseJsonBlock(s: Snippet): Record<string, unknown> {
  for (const text of [s.text, `{${s.text}}`]) {
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {}
  }
  throw new Error(`${s.file}:${s.line}: a json block that is neither a JSON object nor a fragment of one (fence it as text if it is not meant to run)`);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` laid on `base`, objects merged key by key. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

const byFile = new Map<string, Snippet[]>();
for (const file of docFiles()) {
  const runnable = snippetsOf(file).filter((s) => ['json', 'csv', 'jsonl'].includes(s.lang));
  if (runnable.length > 0) byFile.set(relative(root, file), runnable);
}

let sandbox: Sandbox;
let receiver: { url: string; deliveries: Array<{ body: string; headers: Record<string, string> }>; close: () => Promise<void> };
beforeAll(async () => {
  sandbox = await startSandbox();
  const { startFakeServer } = await import('../src/sandbox/server.ts');
  const deliveries: Array<{ body: string; headers: Record<string, string> }> = [];
  const server = await startFakeServer((req) => {
    deliveries.push({ body: req.body, headers: req.headers as Record<string, string> });
    return { status: 204 };
  });
  receiver = { url: server.url, deliveries, close: () => server.close() };
});
afterAll(async () => {
  await sandbox?.close();
  await receiver?.close();
});

let runs = 0;

/**
 * The config a reader gets from the docs' blocks: the blocks as written, with the docs' accounts pointed at the
 * sandbox (its URL and credentials; the block's own fields kept), Redis this test's, webhooks to a local receiver.
 */
function runnableConfig(doc: Record<string, unknown>): { raw: Record<string, unknown>; config: Config } {
  runs += 1;
  const accounts: Record<string, Record<string, unknown>> = {};
  const named = new Set([...Object.keys(isObject(doc.accounts) ? doc.accounts : {})]);
  for (const profile of Object.values(isObject(doc.profiles) ? doc.profiles : {}))
    for (const a of Object.keys(profile as object)) if (a !== 'inviteAt') named.add(a);
  for (const hook of Object.values(isObject(doc.webhooks) ? doc.webhooks : {})) for (const a of (hook as { accounts?: string[] }).accounts ?? []) named.add(a);
  for (const name of named) {
    const own = (isObject(doc.accounts) ? (doc.accounts[name] as Record<string, unknown> | undefined) : undefined) ?? {};
    const provider = (own.provider as ProviderId | undefined) ?? DOC_ACCOUNTS[name];
    if (provider === undefined)
      throw new Error(`account '${name}' is none of the docs' accounts (${Object.keys(DOC_ACCOUNTS).join(', ')}) and its block gives no provider`);
    const sandboxAccount = sandbox.accounts[`sandbox-${provider}`] as Record<string, unknown>;
    accounts[name] = { ...own, ...sandboxAccount };
  }
  const webhooks = Object.fromEntries(
    Object.entries(isObject(doc.webhooks) ? doc.webhooks : {}).map(([name, hook]) => [name, { ...(hook as object), url: receiver.url }]),
  );
  const raw = {
    ...doc,
    redis: { url: redis.url, prefix: `${redis.prefix}-${runs}` },
    accounts,
    ...(Object.keys(webhooks).length > 0 ? { webhooks } : {}),
    defaults: { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 }, rateLimited: { baseDelayMs: 50, maxDelayMs: 500 } },
  };
  return { raw, config: parseConfig(raw, root) };
}

/** Runs `fn` with workers for every account of the config, then checks each batch it names ended all succeeded. */
async function deliver(config: Config, fn: (producer: Producer) => Promise<string[]>): Promise<void> {
  const producer = new Producer(config);
  const workers = await runWorkers(config, { env: { ...SANDBOX_CREDENTIALS, ...DOC_ENV }, logger: pino({ level: 'silent' }) });
  try {
    const batches = await fn(producer);
    for (const batchId of batches) {
      const status = await waitFor(
        async () => {
          const s = await batchStatus(producer.redis, config.redis.prefix, batchId);
          // Delivered, or waiting for its start date's time (an example with dates ahead).
          return s?.sealed && s.done + s.scheduled >= s.total ? s : undefined;
        },
        20_000,
        `batch ${batchId} delivered or scheduled`,
      );
      expect({ batchId, failed: status.failed, refused: status.refused ?? 0 }).toEqual({ batchId, failed: 0, refused: 0 });
      expect(status.succeeded).toBe(status.done);
      expect(status.total).toBeGreaterThan(0);
    }
  } finally {
    await workers.close();
    await producer.close();
  }
}

describe('every documented example', () => {
  it('finds the docs blocks it runs (README and docs/)', () => {
    const all = [...byFile.values()].flat();
    expect(all.filter((s) => s.lang === 'json').length).toBeGreaterThan(3);
    expect([...byFile.keys()]).toContain('README.md');
  });

  for (const [file, snippets] of byFile) {
    describe(file, () => {
      // Blocks of one page build on each other as a reader's config does: a fragment lands on the ones before it.
      let page: Record<string, unknown> = {};
      for (const s of snippets) {
        it(`${s.lang} block at line ${s.line} runs against the sandbox`, async () => {
          if (s.lang === 'json') {
            const block = parseJsonBlock(s);
            // A payload as a receiver gets it (a webhook body, an API answer) is shown, not run: it must be JSON.
            if (!Object.keys(block).every((k) => CONFIG_KEYS.has(k))) return;
            if (isObject(block.redis)) {
              // A Redis of the reader's own (a TLS endpoint, sentinels, a Cluster): it must load as written.
              parseConfig({ ...block, accounts: isObject(block.accounts) ? block.accounts : {} }, root);
            }
            page = merge(page, block);
            const { config } = runnableConfig(page);
            const profiles = Object.keys(config.profiles);
            const accounts = Object.keys(config.accounts);
            if (accounts.length === 0) return;
            await deliver(config, async (producer) => {
              const batches: string[] = [];
              // Each profile onboards a person; without profiles, each account invites one with the sandbox's example fields.
              for (const [i, profile] of profiles.entries()) {
                const batchId = `docs-${runs}-${i}`;
                await onboard(producer, [{ email: `${profile.toLowerCase().replaceAll(/[^a-z0-9]/g, '')}.${runs}@example.com` }], { profile }, { batchId });
                batches.push(batchId);
              }
              if (profiles.length === 0) {
                for (const account of accounts) {
                  const batchId = `docs-${runs}-${account}`;
                  const example = fakeOf(config.accounts[account]?.provider as string).exampleInvite;
                  await producer.inviteMany(account, [{ email: `${account}.${runs}@example.com`, ...example }], { batchId });
                  batches.push(batchId);
                }
              }
              return batches;
            });
            if (isObject(page.webhooks)) {
              // The block's endpoint gets the events it subscribes to, signed with the secret it names.
              const { Webhook } = await import('standardwebhooks');
              await waitFor(() => receiver.deliveries.some((d) => d.body.includes('batch.completed')), 10_000, 'a batch.completed delivery');
              const verifier = new Webhook(DOC_ENV.HR_WEBHOOK_SECRET as string);
              for (const d of receiver.deliveries) expect(() => verifier.verify(d.body, d.headers)).not.toThrow();
            }
            return;
          }
          // A CSV or JSONL file of people, enqueued by the CLI with the page's config, as the docs show.
          const { raw, config } = runnableConfig(page);
          const dir = tempDir('ib-docs-');
          const input = join(dir, `people.${s.lang}`);
          writeFileSync(input, `${s.text}\n`);
          writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
          const hasProfileColumn = /(^|[,;\t|"])\s*profile\s*([,;\t|"]|$)/im.test(s.text.split('\n')[0] ?? '') || /"profile"/.test(s.text);
          const first = Object.keys(config.profiles)[0];
          const targets = hasProfileColumn || first === undefined ? [] : ['--profile', first];
          const batchId = `docs-file-${runs}`;
          await deliver(config, async () => {
            const { stdout } = await promisify(execFile)(
              process.execPath,
              [BIN, 'enqueue', '--config', join(dir, 'config.json'), '--file', input, '--batch', batchId, ...targets],
              { env: { ...process.env, ...SANDBOX_CREDENTIALS, ...DOC_ENV }, timeout: 30_000 },
            );
            expect(stdout).not.toMatch(/refused|rejected: [1-9]/i);
            return [batchId];
          });
        });
      }
    });
  }
});
