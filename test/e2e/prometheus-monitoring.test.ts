import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grafanaQueries } from '../../src/gen/monitoring/check-prometheus.js';
import { findFreePort } from '../../src/util/net.js';
import { connectV1, connectV2 } from '../helpers/clients.js';
import { CLI, scratchDir, startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * `gen prometheus` and `gen grafana` against the real thing: Debian's
 * Prometheus, started here on a free port with a scratch storage folder,
 * scrapes a `serve` cluster with the generated config and evaluates the
 * generated rules. --max-restarts 1 lets the first kill of a worker be
 * restarted (the restart alert) and keeps the second one down (worker down).
 */
interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

describe('gen prometheus + gen grafana with a real Prometheus scraping serve', () => {
  let cluster: TestCluster;
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';

  const api = async <T>(query: string): Promise<T> => {
    const body = (await (await fetch(`${promUrl}/api/v1/${query}`)).json()) as { status: string; data: T };
    expect(body.status).toBe('success');
    return body.data;
  };
  const alerts = () => api<{ alerts: PromAlert[] }>('alerts').then((d) => d.alerts);

  beforeAll(async () => {
    cluster = await startServe([
      '--instances',
      '2',
      '--redis',
      'memory',
      '--max-restarts',
      '1',
      '--rate-limit',
      '1000/1m',
    ]);
    dir = scratchDir('mcp-scale-prometheus-');
    const gateway = new URL(cluster.info.gateway.url);
    const gen = (target: string, extra: string[]) =>
      spawnSync(process.execPath, [CLI, 'gen', target, '--out', dir, '--check', ...extra], {
        encoding: 'utf8',
      });
    const prom = gen('prometheus', [
      '--gateway-target',
      `127.0.0.1:${gateway.port}`,
      ...cluster.info.instances.flatMap((w) => ['--worker-target', `127.0.0.1:${w.port}`]),
      '--scrape-interval',
      '1s',
      '--alert-for',
      '3s',
    ]);
    expect(prom.status, prom.stderr).toBe(0);
    expect(prom.stdout).toContain('ok   prometheus.yml: promtool check config: ok (10 rules)');
    expect(prom.stdout).toContain('ok   mcp-scale-alerts.yml: promtool check rules: ok (10 rules)');
    const grafana = gen('grafana', []);
    expect(grafana.status, grafana.stderr).toBe(0);
    expect(grafana.stdout).toMatch(/ok {3}grafana-dashboard\.json: promtool check rules: ok/);

    const port = await findFreePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      '/usr/bin/prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitUntil(
      async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200,
      'Prometheus ready',
      30_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes every gateway and worker target', async () => {
    await waitUntil(
      async () => {
        const up = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          'query?query=up',
        );
        return up.result.length === 3 && up.result.every((r) => r.value[1] === '1');
      },
      'three targets up',
      30_000,
    );
  });

  it('finds the metric of every Grafana query in the scraped data', async () => {
    // Some traffic of both eras, then two more scrapes so rates have two samples.
    const v1 = await connectV1(cluster.url);
    await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    const v2 = await connectV2(cluster.url);
    await v2.callTool({ name: 'get_inventory', arguments: { id: 'p00001' } });
    await v1.close();
    await v2.close();
    await waitUntil(
      async () => {
        const r = await api<{ result: unknown[] }>(
          `query?query=${encodeURIComponent('count_over_time(mcp_scale_gateway_workers_up[1m])')}`,
        );
        return Number((r.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0) >= 3;
      },
      'a few scrapes',
      30_000,
    );
    const names = new Set(await api<string[]>('label/__name__/values'));
    const queries = grafanaQueries(fs.readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8'));
    expect(queries.length).toBeGreaterThanOrEqual(15);
    const missing: string[] = [];
    for (const query of queries) {
      const metrics = [...query.matchAll(/\b(?:mcp|nodejs|process)_[a-z0-9_]+|\bup\b/g)].map((m) => m[0]);
      expect(metrics.length, query).toBeGreaterThan(0);
      for (const metric of metrics) if (!names.has(metric)) missing.push(`${metric} (in ${query})`);
      // Every query runs, too (Grafana's $__rate_interval as 1m).
      await api(`query?query=${encodeURIComponent(query.replaceAll('$__rate_interval', '1m'))}`);
    }
    expect(missing).toEqual([]);
    // Label sets the panels and alerts use exist before their first event.
    for (const zeroed of [
      'mcp_scale_gateway_rate_limited_total{policy="user"}',
      'mcp_scale_gateway_session_rehomes_total{reason="worker-down"}',
      'mcp_scale_gateway_worker_restarts_total{worker="w2"}',
      'mcp_scale_worker_cache_total{tool="get_user",outcome="hit"}',
      'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",era="modern"}',
      'mcp_scale_gateway_redis_up{mode="memory"}',
    ]) {
      const r = await api<{ result: unknown[] }>(`query?query=${encodeURIComponent(zeroed)}`);
      expect(r.result.length, zeroed).toBeGreaterThan(0);
    }
  });

  it('fires the restart alert when a worker is restarted', async () => {
    const victim = cluster.info.instances[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await waitForReadyInfo(
      cluster.readyFile,
      (i) => i.instances[0]!.pid !== victim.pid && i.instances[0]!.pid > 0,
    );
    await waitUntil(
      async () =>
        (await alerts()).some(
          (a) =>
            a.labels.alertname === 'McpScaleWorkerRestarted' &&
            a.labels.worker === 'w1' &&
            a.state === 'firing',
        ),
      'McpScaleWorkerRestarted firing for w1',
      45_000,
    );
  });

  it('fires the worker-down alert within its for: window when a worker stays down', async () => {
    const info = JSON.parse(fs.readFileSync(cluster.readyFile, 'utf8')) as typeof cluster.info;
    const victim = info.instances[0]!;
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    await waitUntil(
      () => cluster.stderr().includes('not restarted'),
      'the supervisor giving up on w1',
      15_000,
    );
    let firing: PromAlert | undefined;
    await waitUntil(
      async () => {
        firing = (await alerts()).find(
          (a) =>
            a.labels.alertname === 'McpScaleWorkerDown' &&
            a.labels.instance === `127.0.0.1:${victim.port}` &&
            a.state === 'firing',
        );
        return firing !== undefined;
      },
      'McpScaleWorkerDown firing',
      45_000,
    );
    // It became pending with the kill (rule evaluation timestamps trail the wall clock by up to
    // an interval, and a scrape stamped just before the kill may be the one that failed).
    expect(Date.parse(firing!.activeAt)).toBeGreaterThanOrEqual(killedAt - 2500);
    const other = info.instances[1]!;
    expect(
      (await alerts()).some(
        (a) => a.labels.alertname === 'McpScaleWorkerDown' && a.labels.instance === `127.0.0.1:${other.port}`,
      ),
    ).toBe(false);
  });
});
