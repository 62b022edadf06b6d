import { failoverLines } from './failover-section.js';
import type { LatencySummary } from './histogram.js';
import type { BenchReport } from './report-schema.js';
import { formatMeasured } from './thresholds.js';

/**
 * The plain-text summary that ends every human run: what happened, in the
 * order a user asks (did it work, how fast, where did it go, what broke).
 */
export function formatSummary(report: BenchReport): string {
  const lines: string[] = [];
  const { totals, options } = report;
  lines.push(
    `mcp-scale bench: ${report.scenario.name} scenario, ${describeModel(report)}, ${describeEras(report)}`,
  );
  lines.push(
    `target ${report.target.url}   ran ${(report.durationMs / 1000).toFixed(1)}s   seed ${options.seed}`,
  );
  lines.push('');
  lines.push(
    `requests   ${num(totals.requests)} (${rate(totals.requestsPerSecond)})   iterations ${num(totals.iterations)} (${rate(totals.iterationsPerSecond)})`,
  );
  lines.push(
    `errors     ${num(totals.errors)} (${pct(totals.errorRate)})   dropped ${num(totals.dropped)}   interrupted ${num(totals.interrupted)}`,
  );
  lines.push(...loadLines(report));
  lines.push('');
  lines.push(...latencyTable(report));
  lines.push('');
  const s = report.sessions;
  lines.push(
    `sessions   opened ${num(s.opened)}   kept ${num(s.kept)}   lost ${num(s.lost)}   instance changes ${num(s.instanceChanges)} (in ${num(s.sessionsWithInstanceChange)} sessions)`,
  );
  const l = report.rateLimit;
  lines.push(
    `429s       ${num(l.limited)}   with Retry-After ${num(l.withRetryAfter)}   without ${num(l.withoutRetryAfter)}`,
  );
  const c = report.cache;
  lines.push(
    `cache      hits ${num(c.hits)}   misses ${num(c.misses)}   unmarked ${num(c.unmarked)}   hit ratio ${c.hitRatio === null ? 'n/a' : pct(c.hitRatio)}`,
  );
  lines.push(`instances  ${describeInstances(report.instances)}`);
  if (report.workerMemory) lines.push(`worker RSS ${describeWorkerMemory(report.workerMemory)}`);
  const kinds = Object.entries(report.errors.byKind).sort((a, b) => b[1] - a[1]);
  if (kinds.length > 0) lines.push(`errors by  ${kinds.map(([kind, n]) => `${kind} ${num(n)}`).join('   ')}`);
  lines.push(...failoverLines(report));
  for (const check of report.scenario.checks) {
    lines.push(`check      ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  }
  if (report.capacity) {
    const cap = report.capacity;
    lines.push(
      cap.callsPerSecond === null || cap.callsPerSecondPerWorker === null
        ? `capacity   no step met p99 <= ${cap.p99TargetMs}ms (start lower with --start-rate)`
        : `capacity   ${rate(cap.callsPerSecond)} at p99 <= ${cap.p99TargetMs}ms on ${cap.workers} worker(s): ${rate(cap.callsPerSecondPerWorker)} per worker`,
    );
    for (const step of cap.steps) {
      lines.push(
        `  step     ${rate(step.rate)} asked   ${rate(step.callsPerSecond)} done   p99 ${ms(step.p99Ms)}   errors ${pct(step.errorRate)}   dropped ${step.dropped}   ${step.passed ? 'pass' : 'FAIL'}`,
      );
    }
  }
  for (const t of report.thresholds) {
    lines.push(
      `threshold  ${t.passed ? 'ok  ' : 'FAIL'} ${t.expression} (actual ${formatMeasured(t.actual, t.unit)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Offered versus achieved, and a loud line for every way the load fell short. */
function loadLines(report: BenchReport): string[] {
  const load = report.load;
  const offered =
    load.offered.iterations === null
      ? 'not defined'
      : `${num(Math.round(load.offered.iterations))} iterations (${rate(load.offered.perSecond ?? 0)})`;
  const ratio = load.achievedRatio === null ? '' : ` = ${pct(load.achievedRatio)} of offered`;
  const lines = [
    `offered    ${offered}   ${load.offered.basis}`,
    `achieved   ${num(load.achieved.iterations)} iterations (${rate(load.achieved.perSecond)})${ratio}`,
  ];
  for (const warning of load.warnings) lines.push(`WARNING    ${warning}`);
  return lines;
}

function latencyTable(report: BenchReport): string[] {
  const rows: [string, LatencySummary][] = [['all calls', report.latency.all]];
  if (report.latency.setup.count > 0) rows.push(['session set-up', report.latency.setup]);
  for (const [method, summary] of Object.entries(report.latency.byMethod))
    rows.push([`  ${method}`, summary]);
  for (const [tool, summary] of Object.entries(report.latency.byTool)) rows.push([`  tool ${tool}`, summary]);
  const width = Math.max(12, ...rows.map(([name]) => name.length));
  const header = `${'latency ms'.padEnd(width)} ${['count', 'p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => h.padStart(9)).join('')}`;
  return [
    header,
    ...rows.map(
      ([name, l]) =>
        `${name.padEnd(width)} ${[
          num(l.count),
          fixed(l.p50),
          fixed(l.p90),
          fixed(l.p99),
          fixed(l.p999),
          fixed(l.max),
        ]
          .map((cell) => cell.padStart(9))
          .join('')}`,
    ),
  ];
}

function describeModel(report: BenchReport): string {
  const o = report.options;
  if (o.model === 'closed') {
    const think = o.thinkMs.max > 0 ? `, think ${o.thinkMs.min}-${o.thinkMs.max}ms` : '';
    return `closed model (${o.clients} clients${think})`;
  }
  const stages = (o.stages ?? [])
    .map((s) =>
      s.fromPerSecond === s.toPerSecond
        ? `${trim(s.fromPerSecond)}/s for ${trim(s.durationMs / 1000)}s`
        : `${trim(s.fromPerSecond)}-${trim(s.toPerSecond)}/s over ${trim(s.durationMs / 1000)}s`,
    )
    .join(', ');
  return `open model (${stages}; pool of ${o.maxClients})`;
}

function describeEras(report: BenchReport): string {
  const e = report.eras;
  return `eras 2025 x${e['2025'].virtualUsers} / 2026 x${e['2026'].virtualUsers}`;
}

function describeInstances(instances: Record<string, number>): string {
  const total = Object.values(instances).reduce((sum, n) => sum + n, 0);
  const entries = Object.entries(instances).sort((a, b) => a[0].localeCompare(b[0]));
  if (entries.length === 0) return 'none';
  return entries.map(([id, n]) => `${id} ${num(n)} (${pct(total > 0 ? n / total : 0)})`).join('   ');
}

const num = (n: number): string => n.toLocaleString('en-US');
const fixed = (n: number): string => n.toFixed(2);
const trim = (n: number): string => Number(n.toFixed(2)).toString();
const rate = (n: number): string => `${trim(n)}/s`;
const ms = (n: number): string => `${trim(n)}ms`;
const pct = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/** `w1 98.1 MB -> 120.4 MB   w2 …`: each worker's RSS at the start and end of the run. */
function describeWorkerMemory(memory: NonNullable<BenchReport['workerMemory']>): string {
  const mb = (bytes: number | null | undefined) =>
    bytes === null || bytes === undefined ? 'gone' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return memory.start
    .map((start) => {
      const end = memory.end.find((e) => e.id === start.id);
      return `${start.id} ${mb(start.rssBytes)} -> ${mb(end?.rssBytes)}`;
    })
    .join('   ');
}
