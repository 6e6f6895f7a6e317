import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load.ts';
import { providerIds } from '../src/providers/index.ts';
import { startSandbox } from '../src/sandbox/index.ts';

const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; ports?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
};

// No Docker engine runs here: these check the file's structure, not a running stack.
describe('docker-compose.yml', () => {
  it('has redis, api, worker, sandbox, prometheus and grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'grafana', 'prometheus', 'redis', 'sandbox', 'worker']);
  });

  it('runs Redis with append-only persistence and noeviction', () => {
    const cmd = compose.services.redis?.command ?? [];
    expect(cmd[0]).toBe('redis-server');
    expect(cmd.join(' ')).toContain('--appendonly yes');
    expect(cmd.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('runs the real CLI commands, whose options exist', () => {
    const cli = buildCli();
    for (const [service, expected] of [
      ['api', 'serve'],
      ['worker', 'worker'],
      ['sandbox', 'sandbox'],
    ] as const) {
      const command = compose.services[service]?.command ?? [];
      expect(command[0]).toBe(expected);
      const sub = cli.commands.find((c) => c.name() === expected);
      const known = new Set((sub?.options ?? []).map((o) => o.long));
      for (const arg of command.filter((a) => a.startsWith('--'))) expect(known, `${service}: ${arg}`).toContain(arg);
      expect(compose.services[service]?.build).toBe('.');
    }
  });

  it('lets the worker scale: no fixed host ports or container name', () => {
    expect(compose.services.worker?.ports).toBeUndefined();
    expect(compose.services.worker).not.toHaveProperty('container_name');
  });

  it('mounts a valid config that points at the sandbox service', () => {
    expect(compose.services.api?.volumes).toContain('./examples/compose.config.json:/config/invitebus.config.json:ro');
    const config = loadConfig(join(root, 'examples/compose.config.json'));
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(Object.values(config.accounts).every((a) => a.baseUrl.startsWith('http://sandbox:'))).toBe(true);
    for (const account of Object.values(config.accounts)) {
      for (const ref of Object.values(account.credentials)) if ('env' in ref) expect(compose.services.worker?.environment).toHaveProperty(ref.env);
    }
  });

  it('points each account at the port the sandbox service gives its provider, with the sandbox account settings', async () => {
    const base = Number(/^\d+$/.exec(compose.services.sandbox?.command?.at(-1) ?? '')?.[0]);
    const sandbox = await startSandbox({ port: 0 });
    try {
      const config = loadConfig(join(root, 'examples/compose.config.json'));
      // The sandbox service listens on consecutive ports from --port, in registry order.
      for (const [i, id] of providerIds.entries()) {
        const expected = { ...sandbox.accounts[`sandbox-${id}`], baseUrl: `http://sandbox:${base + i}` };
        expect(JSON.parse(readFileSync(join(root, 'examples/compose.config.json'), 'utf8')).accounts[`sandbox-${id}`]).toEqual(expected);
        expect(config.accounts[`sandbox-${id}`]?.provider).toBe(id);
      }
    } finally {
      await sandbox.close();
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  it('is multi-stage: dependencies built in one stage, copied into a runtime stage', () => {
    const stages = [...text.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => [m[1], m[2]]);
    expect(stages).toEqual([
      ['node:24-alpine', 'deps'],
      ['node:24-alpine', 'runtime'],
    ]);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(text).toMatch(/USER node/);
    expect(text).toMatch(/ENTRYPOINT \["node", "bin\/invitebus.js"\]/);
  });
});

describe('monitoring', () => {
  const deploy = join(root, 'deploy');
  const metricNames = (() => {
    const source = ['src/metrics.ts'].map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
    return new Set([...source.matchAll(/name: '(invitebus_[a-z_]+)'/g)].map((m) => m[1]));
  })();
  /** The invitebus metric names a PromQL expression uses, histograms by their base name. */
  const used = (expr: string) => [...expr.matchAll(/invitebus_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

  it('compose runs Prometheus (scraping the API with a read-only token and every worker) and Grafana with the dashboard', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['prometheus', 'grafana']));
    const prom = parse(readFileSync(join(deploy, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
        authorization?: { credentials_file: string };
      }>;
    };
    const api = prom.scrape_configs.find((c) => c.job_name === 'invitebus-api');
    expect(api?.static_configs?.[0]?.targets).toEqual(['api:8080']);
    expect(api?.authorization?.credentials_file).toBe('/run/secrets/metrics_token');
    const worker = prom.scrape_configs.find((c) => c.job_name === 'invitebus-worker');
    expect(worker?.dns_sd_configs?.[0]).toMatchObject({ names: ['worker'], port: 9464 });
    expect(compose.services.worker?.command).toEqual(['worker', '--metrics-port', '9464']);
    const config = loadConfig(join(root, 'examples/compose.config.json'));
    expect(config.api.readOnlyTokens).toEqual([{ env: 'INVITEBUS_METRICS_TOKEN' }]);
    expect(compose.services.grafana?.volumes).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });

  it('has a Grafana dashboard whose every query names metrics invitebus exports, covering what operators watch', () => {
    const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana/dashboards/invitebus.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }>; datasource: { uid: string } }>;
    };
    expect(dashboard.uid).toBe('invitebus');
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const name of exprs.flatMap(used)) expect(metricNames, name).toContain(name);
    const all = exprs.join('\n');
    for (const needed of [
      'invitebus_invites_total',
      'invitebus_rate_limit_waits_total',
      'invitebus_account_paused',
      'invitebus_queue_jobs',
      'invitebus_invite_latency_seconds_bucket',
      'invitebus_queue_oldest_waiting_seconds',
    ])
      expect(all).toContain(needed);
    const datasource = parse(readFileSync(join(deploy, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string }> };
    expect(dashboard.panels.every((p) => p.datasource.uid === datasource.datasources[0]?.uid)).toBe(true);
  });

  it('has alert rules for a paused account, the failure ratio and the queue age, on exported metrics', () => {
    const rules = parse(readFileSync(join(deploy, 'prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['InvitebusAccountPaused', 'InvitebusFailureRatio', 'InvitebusQueueAge']));
    for (const name of alerts.flatMap((a) => used(a.expr))) expect(metricNames, name).toContain(name);
  });
});
