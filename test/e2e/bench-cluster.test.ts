import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchEngine } from '../../src/bench/engine.js';
import type { BenchReport } from '../../src/bench/report-schema.js';
import type { ResponseRecord } from '../../src/bench/types.js';
import { benchOptions } from '../helpers/bench-options.js';
import {
  delta,
  scrapeCluster,
  waitForCatalogFetch,
  workerDeltas,
  type ClusterScrape,
} from '../helpers/bench-ground-truth.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { CLI, startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Short benches against real clusters (`mcp-scale serve`, 2 workers), each
 * number the bench reports checked against what the servers themselves
 * counted: the workers' and the gateway's Prometheus counters, read before
 * and after the run. Where both sides count the same thing the comparison
 * is exact; the only differences are HTTP exchanges the bench deliberately
 * does not count as requests (named where they are accounted for).
 */
const GATEWAY_REQUESTS = 'mcp_scale_gateway_requests_total';
const WORKER_REQUESTS = 'mcp_scale_worker_requests_total';
const WORKER_CACHE = 'mcp_scale_worker_cache_total';
const REHOMES = 'mcp_scale_gateway_session_rehomes_total';
const REPLAYS = 'mcp_scale_gateway_session_replays_total';

/**
 * HTTP exchanges of a 2025 session that carry no JSON-RPC request, so the
 * bench (which counts requests) leaves them out while the gateway and the
 * worker count them: `notifications/initialized` (202), the GET
 * notification stream the SDK 1.x client opens after it, and the DELETE
 * that ends the session when the user closes.
 */
const NON_REQUEST_EXCHANGES = ['notifications/initialized', 'GET stream', 'DELETE session'];

async function runEngine(
  cluster: TestCluster,
  flags: Parameters<typeof benchOptions>[1],
): Promise<{ report: BenchReport; records: ResponseRecord[]; before: ClusterScrape; after: ClusterScrape }> {
  const before = await scrapeCluster(cluster.info);
  const engine = new BenchEngine(benchOptions(cluster.url, flags), {
    url: cluster.url,
    readyInfo: cluster.info,
  });
  const records: ResponseRecord[] = [];
  engine.on('response', (record) => records.push(record));
  const report = await engine.run();
  const after = await scrapeCluster(cluster.info);
  return { report, records, before, after };
}

/**
 * A gateway counter that settles after the bench returns: the gateway counts
 * a request when its exchange ends, and a GET stream ends only after the
 * client closed it. Polls until it reaches `expected` (or 10 s pass) and
 * returns the delta then, for an exact comparison.
 */
async function settledGatewayDelta(
  cluster: TestCluster,
  before: ClusterScrape,
  match: Record<string, string | ((value: string) => boolean)>,
  expected: number,
): Promise<number> {
  let value = Number.NaN;
  const read = async () => {
    const now = await scrapeCluster(cluster.info);
    value = delta(before.gateway, now.gateway, GATEWAY_REQUESTS, match);
    return value >= expected;
  };
  await waitUntil(read, `gateway ${JSON.stringify(match)} to reach ${expected}`, 10_000).catch(() => {});
  return value;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in its own process (`node bin/mcp-scale.js bench ...`). */
function benchCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench against a real cluster (serve --instances 2)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2']);
    await waitForCatalogFetch(cluster.info);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('requests per instance: each worker served exactly what the report says it did', async () => {
    // Both eras (3 users each), the default shop workload, a fixed number of requests.
    const { report, records, before, after } = await runEngine(cluster, {
      clients: 6,
      iterations: 240,
    });
    expect(report.totals.interrupted).toBe(0);
    expect(report.totals.errors).toBe(0);
    // A replay (the gateway thought a worker was down) would add exchanges the bench never sent.
    expect(delta(before.gateway, after.gateway, REPLAYS), 'sessions replayed during the run').toBe(0);
    expect(report.eras['2025'].virtualUsers).toBe(3);
    expect(report.eras['2026'].virtualUsers).toBe(3);

    // Sessions each worker created, as the bench saw them (the initialize answers).
    const sessionsOn: Record<string, number> = {};
    for (const record of records)
      if (record.sessionOpened && record.instance)
        sessionsOn[record.instance] = (sessionsOn[record.instance] ?? 0) + 1;
    expect(report.sessions.opened).toBe(3);

    const served = workerDeltas(before, after, WORKER_REQUESTS);
    const expected = Object.fromEntries(
      cluster.info.instances.map(({ id }) => [
        id,
        (report.instances[id] ?? 0) + NON_REQUEST_EXCHANGES.length * (sessionsOn[id] ?? 0),
      ]),
    );
    expect(served).toEqual(expected);
    // The load reached both workers, so the per-worker split is really tested.
    for (const { id } of cluster.info.instances) expect(report.instances[id]).toBeGreaterThan(0);

    // Every JSON-RPC request the bench counted passed the gateway; the ones no
    // worker answered (`(none)`) are the gateway's own 2026 cache-hint hits.
    const gatewayRequests = delta(before.gateway, after.gateway, GATEWAY_REQUESTS, {
      method: (method) => !NON_REQUEST_EXCHANGES.includes(method),
    });
    expect(gatewayRequests).toBe(report.totals.requests);
    const workerAnswered = Object.entries(report.instances)
      .filter(([id]) => id !== '(none)')
      .reduce((sum, [, count]) => sum + count, 0);
    expect(workerAnswered + (report.instances['(none)'] ?? 0)).toBe(report.totals.requests);
    for (const method of NON_REQUEST_EXCHANGES) {
      expect(
        await settledGatewayDelta(cluster, before, { method }, report.sessions.opened),
        `${method} at the gateway`,
      ).toBe(report.sessions.opened);
    }
  });

  it('cache hits: the report counts exactly the hits the workers served, per tool', async () => {
    const { report, before, after } = await runEngine(cluster, {
      scenario: 'cache',
      clients: 4,
      iterations: 200,
    });
    expect(report.totals.interrupted).toBe(0);
    expect(report.cache.unmarked).toBe(0);
    const hits = workerDeltas(before, after, WORKER_CACHE, { outcome: 'hit' });
    const servedHits = Object.values(hits).reduce((a, b) => a + b, 0);
    expect(report.cache.hits).toBe(servedHits);
    expect(report.cache.hits).toBeGreaterThan(0);
    // A call that could not use the cache (get_user has a per-user scope and
    // the bench is anonymous) is marked "miss" on the result and counted
    // `bypass` by the worker (docs/cache.md), so misses compare to both.
    const servedMisses =
      Object.values(workerDeltas(before, after, WORKER_CACHE, { outcome: 'miss' })).reduce(
        (a, b) => a + b,
        0,
      ) +
      Object.values(workerDeltas(before, after, WORKER_CACHE, { outcome: 'bypass' })).reduce(
        (a, b) => a + b,
        0,
      );
    expect(report.cache.misses).toBe(servedMisses);
    for (const [tool, counts] of Object.entries(report.cache.byTool)) {
      const toolHits = Object.values(workerDeltas(before, after, WORKER_CACHE, { tool, outcome: 'hit' }));
      expect(counts.hits, `hits of ${tool}`).toBe(toolHits.reduce((a, b) => a + b, 0));
    }
  });

  it('thresholds through the real CLI: 0 when met (schema-valid report), 99 with the failing lines, 2 for a bad flag', async () => {
    const out = path.join(cluster.home, 'bench-report.json');
    const common = ['--ready-file', cluster.readyFile, '--clients', '2', '--iterations', '40'];
    const met = await benchCli([
      ...common,
      '--out',
      out,
      '--threshold',
      'errors==0',
      '--threshold',
      'iterations==40',
      '--threshold',
      'sessions_lost==0',
    ]);
    expect(met.stderr).toBe('');
    expect(met.code).toBe(0);
    expect(met.stdout).toContain('iterations==40');
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchReport;
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.target.instances).toBe(2);
    expect(report.passed).toBe(true);
    // Worker RSS from the ready file's pids, at the start and the end of the run.
    for (const phase of ['start', 'end'] as const) {
      const sampled = report.workerMemory![phase];
      expect(sampled.map((w) => w.id).sort()).toEqual(['w1', 'w2']);
      for (const worker of sampled) expect(worker.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    }
    expect(met.stdout).toMatch(/^worker RSS w1 \d+\.\d MB -> \d+\.\d MB {3}w2 /m);

    const failed = await benchCli([
      ...common,
      '--threshold',
      'p99<1us',
      '--threshold',
      'iterations==40',
      '--threshold',
      'sessions_opened==0',
    ]);
    expect(failed.code).toBe(99);
    const lines = failed.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^threshold failed: p99<1us: actual \d+(\.\d+)?ms$/);
    // Two users, one of each era: one 2025 session.
    expect(lines[1]).toBe('threshold failed: sessions_opened==0: actual 1');

    const bad = await benchCli([...common, '--threshold', 'p99<250']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('p99<250');
  });

  // Last in this describe: it kills a worker (serve restarts it).
  it('failover: sessions re-homed and lost are what the gateway re-homed and refused', async () => {
    const before = await scrapeCluster(cluster.info);
    const run = await benchCli([
      '--ready-file',
      cluster.readyFile,
      '--scenario',
      'failover',
      '--clients',
      '6',
      // 4 s after the kill: a request in flight at the kill whose streamed answer the
      // gateway re-sends elsewhere keeps the killed worker's instance header (sent
      // before it died), and may wait up to 3 s on a cache lock the dead worker held;
      // the session's next answer, from its new home, must fall inside the run.
      '--duration',
      '5s',
      '--kill-at',
      '1s',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    const after = await scrapeCluster({ ...cluster.info, instances: [] });
    const scenario = report.scenario;
    if (scenario.name !== 'failover') throw new Error('expected the failover summary');
    const victim = cluster.info.instances.find((i) => i.id === scenario.killed?.id);
    expect(victim?.pid).toBe(scenario.killed?.pid);
    expect(scenario.sessionsOnKilledInstance).toBeGreaterThan(0);

    // Every session the killed worker held was moved by the gateway, once,
    // and the bench saw each of them answered by the other worker.
    expect(delta(before.gateway, after.gateway, REHOMES), JSON.stringify(scenario)).toBe(
      scenario.sessionsRehomed,
    );
    expect(scenario.sessionsRehomed).toBe(scenario.sessionsOnKilledInstance);
    // A lost session is a 404 from the gateway; none were sent, none counted.
    expect(delta(before.gateway, after.gateway, GATEWAY_REQUESTS, { status: '404' })).toBe(
      report.sessions.lost,
    );
    expect(scenario.sessionsLost).toBe(report.sessions.lost);
    expect(report.sessions.lost).toBe(0);

    // serve brings the killed worker back (same id, new pid).
    await waitForReadyInfo(cluster.readyFile, (info) =>
      info.instances.some((i) => i.id === victim!.id && i.pid !== victim!.pid),
    );
  });
});

describe('bench --scenario ratelimit against serve --rate-limit 30/1m', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    // A fresh cluster (and private Redis): the limiter's window starts at the bench's first request.
    cluster = await startServe(['--instances', '2', '--rate-limit', '30/1m']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('429s: the report counts exactly the 429s the gateway sent; admitted == the limit', async () => {
    const { report, before, after } = await runEngine(cluster, {
      scenario: 'ratelimit',
      expectLimit: { points: 30, durationMs: 60_000 },
      clients: 4,
      iterations: 80,
      ignoreRetryAfter: true,
    });
    expect(report.totals.interrupted).toBe(0);
    const sent429 = delta(before.gateway, after.gateway, GATEWAY_REQUESTS, { status: '429' });
    expect(report.rateLimit.limited).toBe(sent429);
    // 80 calls + 4 handshakes (2 initialize, 2 server/discover), all charged; 30 admitted.
    expect(report.totals.requests).toBe(84);
    expect(sent429).toBe(84 - 30);
    const admittedAtGateway = delta(before.gateway, after.gateway, GATEWAY_REQUESTS, {
      method: (method) => !NON_REQUEST_EXCHANGES.includes(method),
      status: (status) => status !== '429',
    });
    const scenario = report.scenario;
    if (scenario.name !== 'ratelimit') throw new Error('expected the ratelimit summary');
    expect(scenario.admitted).toBe(admittedAtGateway);
    expect(scenario.expectedAdmitted).toBe(30);
    expect(report.scenario.checks.every((check) => check.passed)).toBe(true);
    expect(report.rateLimit.withRetryAfter).toBe(sent429);
  });
});

describe('bench load across processes and machines against serve --instances 2 (issue 17)', () => {
  let cluster: TestCluster;
  let dir: string;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2']);
    await waitForCatalogFetch(cluster.info);
    dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'mcp-scale-bench-e2e-'));
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('think time with --procs 2 and a second machine: every user runs to the end; bench merge equals the gateway', async () => {
    const before = await scrapeCluster(cluster.info);
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    const common = [
      '--think',
      '200ms',
      '--duration',
      '4s',
      '--scenario',
      'cache',
      '--tool',
      'get_user',
      '--args',
      '{}',
    ];
    // Two "load machines" at once: one with two processes (SDK clients), one with the lean client.
    const [procs, lean] = await Promise.all([
      benchCli([
        cluster.url,
        ...common,
        '--clients',
        '6',
        '--era',
        '2026',
        '--procs',
        '2',
        '--out',
        a,
        '--json',
      ]),
      benchCli([
        cluster.url,
        ...common,
        '--clients',
        '3',
        '--era',
        '2026',
        '--client',
        'lean',
        '--out',
        b,
        '--json',
      ]),
    ]);
    expect(procs.code, procs.stderr).toBe(0);
    expect(lean.code, lean.stderr).toBe(0);
    const merged = path.join(dir, 'merged.json');
    const merge = await benchCli(['merge', a, b, '--out', merged, '--threshold', 'achieved>95%', '--json']);
    expect(merge.code, merge.stderr).toBe(0);
    const after = await scrapeCluster(cluster.info);

    const reports = [a, b].map((file) => JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport);
    const report = JSON.parse(fs.readFileSync(merged, 'utf8')) as BenchReport;
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.options.procs).toBe(3);
    for (const one of [...reports, report]) {
      expect(one.totals.errors).toBe(0);
      expect(one.load.stoppedEarly).toBe(0);
      expect(one.load.warnings).toEqual([]);
      // Each user within one iteration of active time / (think + latency): none went quiet.
      for (const user of one.load.perUser) {
        expect(user.offered).not.toBeNull();
        expect(Math.abs(user.iterations - (user.offered ?? 0))).toBeLessThanOrEqual(1);
        expect(user.iterations).toBeGreaterThan(5);
      }
    }
    expect(report.load.perUser).toHaveLength(9);
    // Counts: what the gateway itself counted (2026 era: every exchange is a JSON-RPC request).
    expect(delta(before.gateway, after.gateway, GATEWAY_REQUESTS)).toBe(report.totals.requests);
    expect(report.totals.requests).toBe(reports[0]!.totals.requests + reports[1]!.totals.requests);
    expect(report.latency.byTool.get_user?.count).toBe(report.totals.iterations);
  });
});
