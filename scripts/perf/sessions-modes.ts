import { projectRoot } from '../project-root.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './load.js';
import { cpuDelta, treeCpuMs, type CpuSplit } from './process-cpu.js';
import { stopChild, Teardown } from './teardown.js';

/**
 * `serve --sessions stateful` against `--sessions stateless` with the same
 * workload: the numbers behind docs/sessions-modes.md. Per round and mode it
 * starts one real cluster (`mcp-scale serve --instances 3 --sessions MODE
 * --ready-file F`), warms it up, then runs real `mcp-scale bench --ready-file
 * F … --json` commands against it: a closed model (throughput), an open model
 * at a fixed rate (latency at equal load) and the failover scenario (last: it
 * kills a worker). Besides the bench's numbers it reads the CPU time the whole
 * cluster (supervisor, gateway, workers, Redis) spent per call from /proc,
 * which a loaded machine disturbs far less than throughput. Modes alternate
 * round by round (A B, B A, …); ratios are per round, then the median.
 *
 *   npm run build && npm run build:scripts && node dist-dev/scripts/perf/sessions-modes.js [--rounds 3] [--duration 20s] [--clients 20] [--rate 100/s] [--json]
 */

type Mode = 'stateful' | 'stateless';
type Workload = 'closed' | 'open' | 'failover';
const MODES: Mode[] = ['stateful', 'stateless'];
const WORKLOADS: Workload[] = ['closed', 'open', 'failover'];
const CLI = path.join(projectRoot(import.meta.url), 'bin', 'mcp-scale.js');
const WARM_UP = '3s';

interface Args {
  rounds: number;
  duration: string;
  clients: number;
  rate: string;
  instances: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 3, duration: '20s', clients: 20, rate: '100/s', instances: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const next = () => String(argv[++i]);
    if (argv[i] === '--rounds') args.rounds = Math.max(2, Number(next()));
    else if (argv[i] === '--duration') args.duration = next();
    else if (argv[i] === '--clients') args.clients = Number(next());
    else if (argv[i] === '--rate') args.rate = next();
    else if (argv[i] === '--instances') args.instances = Number(next());
    else if (argv[i] === '--json') args.json = true;
  }
  return args;
}

function serveArgs(args: Args, mode: Mode, readyFile: string): string[] {
  return [
    'serve',
    '--instances',
    String(args.instances),
    '--sessions',
    mode,
    '--port',
    '0',
    '--ready-file',
    readyFile,
  ];
}

function benchArgs(args: Args, workload: Workload, readyFile: string): string[] {
  const load =
    workload === 'open'
      ? ['--rate', args.rate, '--max-clients', '100']
      : ['--clients', String(args.clients), ...(workload === 'failover' ? ['--scenario', 'failover'] : [])];
  return [
    'bench',
    '--ready-file',
    readyFile,
    '--era',
    '2025',
    ...load,
    '--duration',
    args.duration,
    '--json',
  ];
}

interface BenchReport {
  totals: { iterations: number; requests: number; iterationsPerSecond: number; errors: number };
  latency: { all: { p50: number; p99: number; max: number } };
  timeline: { second: number; p99: number }[];
  scenario?: {
    killed?: { id: string; atMs: number } | null;
    sessionsOnKilledInstance?: number;
    sessionsRehomed?: number;
    sessionsLost?: number;
    errorsAfterKill?: number;
  };
}

/** What one run measured, in the units the docs use. */
interface RunResult {
  round: number;
  workload: Workload;
  mode: Mode;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  /** CPU time of every cluster process per HTTP request the bench sent (handshakes included). */
  cpuMsPerRequest?: number;
  /** The same, split: the gateway, the workers together, the rest (supervisor, Redis). */
  gatewayCpuMsPerRequest?: number;
  workersCpuMsPerRequest?: number;
  /** Failover only: the worst per-second p99 from the second of the kill on. */
  p99AfterKillMs?: number;
  sessionsOnKilled?: number;
  sessionsRehomed?: number;
  sessionsLost?: number;
  errorsAfterKill?: number;
}

/** `mcp-scale ARGV` to its end; stopped by `teardown` if that runs first (a bench against a ready file owns no process). */
function runCli(
  argv: string[],
  teardown: Teardown,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    teardown.add(() => stopChild(child));
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function bench(argv: string[], teardown: Teardown): Promise<BenchReport> {
  const { code, out, err } = await runCli(argv, teardown);
  // 99 = a scenario check or threshold failed: the report is still the measurement.
  if (code !== 0 && code !== 99)
    throw new Error(`bench exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(out) as BenchReport;
}

interface Cluster {
  child: ChildProcess;
  readyFile: string;
  home: string;
}

/** `serve ARGV`, ready once it wrote its ready file; stopped by `teardown` from the moment it is spawned. */
async function startCluster(
  argv: string[],
  readyFile: string,
  home: string,
  teardown: Teardown,
): Promise<Cluster> {
  const child = spawn(process.execPath, [CLI, ...argv], {
    stdio: 'ignore',
    env: { ...process.env, MCP_SCALE_HOME: home, REDIS_URL: '' },
  });
  const cluster = { child, readyFile, home };
  teardown.add(() => stopCluster(cluster));
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(readyFile)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`serve did not start: ${argv.join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return cluster;
}

async function stopCluster(cluster: Cluster): Promise<void> {
  // serve drains its gateway, then its workers (10 s each at most by default), then stops its Redis.
  await stopChild(cluster.child, 'SIGTERM', 60_000);
  fs.rmSync(cluster.home, { recursive: true, force: true });
}

function summarise(
  report: BenchReport,
  round: number,
  workload: Workload,
  mode: Mode,
  cpu?: CpuSplit,
): RunResult {
  const result: RunResult = {
    round,
    workload,
    mode,
    callsPerSecond: report.totals.iterationsPerSecond,
    p50Ms: report.latency.all.p50,
    p99Ms: report.latency.all.p99,
    maxMs: report.latency.all.max,
    errors: report.totals.errors,
    ...(cpu === undefined
      ? {}
      : {
          cpuMsPerRequest: cpu.total / report.totals.requests,
          gatewayCpuMsPerRequest: cpu.gateway / report.totals.requests,
          workersCpuMsPerRequest: cpu.workers / report.totals.requests,
        }),
  };
  const scenario = report.scenario;
  if (workload === 'failover' && scenario?.killed) {
    const killSecond = Math.floor(scenario.killed.atMs / 1000);
    const after = report.timeline.filter((entry) => entry.second >= killSecond).map((entry) => entry.p99);
    result.p99AfterKillMs = after.length ? Math.max(...after) : Number.NaN;
    result.sessionsOnKilled = scenario.sessionsOnKilledInstance ?? 0;
    result.sessionsRehomed = scenario.sessionsRehomed ?? 0;
    result.sessionsLost = scenario.sessionsLost ?? 0;
    result.errorsAfterKill = scenario.errorsAfterKill ?? 0;
  }
  return result;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
const show = (value: number, unit = '') => (Number.isFinite(value) ? `${value}${unit}` : '-');
/** Spread of a mode's runs, (max - min) / median: the noise the ratios live with. */
const spread = (values: number[]) =>
  values.length && median(values) > 0
    ? Math.round(((Math.max(...values) - Math.min(...values)) / median(values)) * 100)
    : Number.NaN;

interface MetricSummary {
  workload: Workload;
  metric: string;
  stateful: number[];
  stateless: number[];
  median: { stateful: number; stateless: number };
  /** Median of the per-round stateless / stateful ratios; none for counts (errors, sessions). */
  ratio: number;
  spreadPercent: { stateful: number; stateless: number };
}

function compare(results: RunResult[], workload: Workload, metric: keyof RunResult): MetricSummary {
  const rows = results.filter((result) => result.workload === workload);
  const value = (row: RunResult | undefined) => Number(row?.[metric] ?? Number.NaN);
  const of = (mode: Mode) => rows.filter((row) => row.mode === mode).map(value);
  const rounds = [...new Set(rows.map((row) => row.round))];
  const ratios = rounds
    .map((round) => {
      const pick = (mode: Mode) => value(rows.find((row) => row.round === round && row.mode === mode));
      return pick('stateless') / pick('stateful');
    })
    .filter((ratio) => Number.isFinite(ratio));
  const stateful = of('stateful');
  const stateless = of('stateless');
  return {
    workload,
    metric: String(metric),
    stateful,
    stateless,
    median: { stateful: round2(median(stateful)), stateless: round2(median(stateless)) },
    ratio: ratios.length && !COUNTS.has(metric) ? round2(median(ratios)) : Number.NaN,
    spreadPercent: { stateful: spread(stateful), stateless: spread(stateless) },
  };
}

const COUNTS = new Set<keyof RunResult>(['errors', 'errorsAfterKill', 'sessionsLost']);
const METRICS: Record<Workload, (keyof RunResult)[]> = {
  closed: [
    'callsPerSecond',
    'cpuMsPerRequest',
    'gatewayCpuMsPerRequest',
    'workersCpuMsPerRequest',
    'p50Ms',
    'p99Ms',
    'errors',
  ],
  open: [
    'callsPerSecond',
    'cpuMsPerRequest',
    'gatewayCpuMsPerRequest',
    'workersCpuMsPerRequest',
    'p50Ms',
    'p99Ms',
    'errors',
  ],
  failover: ['callsPerSecond', 'p99Ms', 'p99AfterKillMs', 'errorsAfterKill', 'sessionsLost'],
};

async function main(teardown: Teardown): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => {
    if (!args.json) process.stdout.write(`${line}\n`);
  };
  const loadBefore = os.loadavg().map(round2);
  log(
    `# sessions modes: ${args.rounds} rounds on ${os.cpus().length} cores, load average ${loadBefore.join(' / ')}`,
  );
  for (const mode of MODES) log(`  mcp-scale ${serveArgs(args, mode, 'ready.json').join(' ')}`);
  for (const workload of WORKLOADS) log(`  mcp-scale ${benchArgs(args, workload, 'ready.json').join(' ')}`);
  const results: RunResult[] = [];
  for (let round = 1; round <= args.rounds; round++) {
    for (const mode of round % 2 === 1 ? MODES : [...MODES].reverse()) {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-sessions-modes-'));
      const readyFile = path.join(home, 'ready.json');
      const scope = teardown.scope();
      try {
        const cluster = await startCluster(serveArgs(args, mode, readyFile), readyFile, home, scope);
        await bench(benchArgs({ ...args, duration: WARM_UP }, 'closed', readyFile), scope);
        for (const workload of WORKLOADS) {
          const before = treeCpuMs(cluster.child.pid!);
          const report = await bench(benchArgs(args, workload, readyFile), scope);
          // A killed worker takes its CPU time with it: no CPU figure for failover.
          const cpu =
            workload === 'failover' ? undefined : cpuDelta(before, treeCpuMs(cluster.child.pid!), readyFile);
          const result = summarise(report, round, workload, mode, cpu);
          results.push(result);
          log(
            `round ${round} ${mode.padEnd(9)} ${workload.padEnd(8)} ${round2(result.callsPerSecond)} calls/s, ` +
              `p50 ${round2(result.p50Ms)} ms, p99 ${round2(result.p99Ms)} ms, errors ${result.errors}` +
              (result.cpuMsPerRequest === undefined
                ? ''
                : `, ${round2(result.cpuMsPerRequest)} CPU-ms/request (gateway ` +
                  `${round2(result.gatewayCpuMsPerRequest ?? Number.NaN)}, workers ${round2(result.workersCpuMsPerRequest ?? Number.NaN)})`) +
              (result.p99AfterKillMs === undefined
                ? ''
                : `, p99 after kill ${round2(result.p99AfterKillMs)} ms, sessions on killed ${result.sessionsOnKilled}, ` +
                  `re-homed ${result.sessionsRehomed}, lost ${result.sessionsLost}, errors after kill ${result.errorsAfterKill}`),
          );
        }
      } finally {
        await scope.run();
      }
    }
  }
  const summaries = WORKLOADS.flatMap((workload) =>
    METRICS[workload].map((metric) => compare(results, workload, metric)),
  );
  const loadAfter = os.loadavg().map(round2);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ args, loadBefore, loadAfter, results, summaries }, null, 2)}\n`);
    return;
  }
  log(`\nload average after: ${loadAfter.join(' / ')}`);
  log(
    '| workload | metric | stateful (runs) | stateless (runs) | median stateful | median stateless | stateless / stateful | spread stateful / stateless |',
  );
  log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of summaries) {
    log(
      `| ${s.workload} | ${s.metric} | ${s.stateful.map(round2).join(' / ')} | ${s.stateless.map(round2).join(' / ')} | ` +
        `${s.median.stateful} | ${s.median.stateless} | ${show(s.ratio)} | ${show(s.spreadPercent.stateful, '%')} / ${show(s.spreadPercent.stateless, '%')} |`,
    );
  }
}

const teardown = new Teardown();
teardown.onSignals();
main(teardown).catch((error: unknown) => {
  if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
  console.error(error);
  process.exitCode = 1;
});
