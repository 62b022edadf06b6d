import type { LatencySummary } from './histogram.js';
import type { BenchReport } from './report-schema.js';
import { failoverOf, KILL_COLUMNS, killRow } from './failover-section.js';
import { formatSummary } from './summary-table.js';
import { barChart, escapeHtml, lineChart } from './svg-charts.js';
import { formatMeasured } from './thresholds.js';

/**
 * `--html FILE`: one self-contained page (inline CSS and SVG, no script, no
 * network) with latency over time, throughput over time, requests per
 * instance, the latency tables and the verdicts. The report JSON is
 * embedded too, so the page alone is enough to answer questions later.
 */
export function renderHtmlReport(report: BenchReport): string {
  const timeline = report.timeline;
  const latencyChart = lineChart({
    id: 'chart-latency',
    title: 'Latency over time',
    xLabel: 'seconds since start',
    yLabel: 'latency (ms)',
    series: [
      { name: 'p50', color: '#4c78a8', points: timeline.map((b) => ({ x: b.second + 0.5, y: b.p50 })) },
      { name: 'p90', color: '#f58518', points: timeline.map((b) => ({ x: b.second + 0.5, y: b.p90 })) },
      { name: 'p99', color: '#e45756', points: timeline.map((b) => ({ x: b.second + 0.5, y: b.p99 })) },
    ],
  });
  const throughputChart = lineChart({
    id: 'chart-throughput',
    title: 'Requests per second',
    xLabel: 'seconds since start',
    yLabel: 'requests / s',
    bars: true,
    series: [
      {
        name: 'requests',
        color: '#72b7b2',
        points: timeline.map((b) => ({ x: b.second + 0.5, y: b.requests })),
      },
      { name: 'errors', color: '#e45756', points: timeline.map((b) => ({ x: b.second + 0.5, y: b.errors })) },
    ],
  });
  const instancesChart = barChart({
    id: 'chart-instances',
    title: 'Requests per instance',
    xLabel: 'responses by Mcp-Scale-Instance',
    entries: Object.entries(report.instances).sort((a, b) => a[0].localeCompare(b[0])),
  });
  const verdict =
    report.thresholds.length === 0
      ? 'no thresholds'
      : report.passed
        ? 'thresholds passed'
        : 'thresholds failed';
  const verdictClass = report.thresholds.length === 0 ? '' : report.passed ? 'passed' : 'failed';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcp-scale bench: ${escapeHtml(report.scenario.name)} ${escapeHtml(report.startedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.chart { background: #fff; border: 1px solid #ddd; display: block; margin: 8px 0; }
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.passed { color: #2a7a2a; } .failed { color: #b22; }
pre { background: #fff; border: 1px solid #ddd; padding: 8px; overflow-x: auto; }
</style>
</head>
<body>
<h1>mcp-scale bench: ${escapeHtml(report.scenario.name)} <span id="verdict" class="${verdictClass}">${verdict}</span></h1>
<p>${escapeHtml(report.target.url)}, started ${escapeHtml(report.startedAt)}, ran ${(report.durationMs / 1000).toFixed(1)} s,
${report.totals.requests} requests (${report.totals.requestsPerSecond} /s), ${report.totals.errors} errors.</p>
<h2>Offered versus achieved load</h2>
${loadSection(report)}
<h2>Latency over time</h2>
${latencyChart}
<h2>Throughput over time</h2>
${throughputChart}
<h2>Requests per instance</h2>
${instancesChart}
<h2>Latency (ms)</h2>
${latencyTable(report)}
${killsTable(report)}<h2>Verdicts</h2>
${verdicts(report)}
<h2>Summary</h2>
<pre>${escapeHtml(formatSummary(report))}</pre>
<script type="application/json" id="report-data">${JSON.stringify(report).replace(/</g, '\\u003c')}</script>
</body>
</html>
`;
}

function loadSection(report: BenchReport): string {
  const load = report.load;
  const offered = load.offered.iterations === null ? 'n/a' : String(load.offered.iterations);
  const ratio = load.achievedRatio === null ? 'n/a' : `${(load.achievedRatio * 100).toFixed(1)}%`;
  const warnings = load.warnings
    .map((warning) => `<p class="failed warning"><strong>Warning:</strong> ${escapeHtml(warning)}</p>`)
    .join('\n');
  return `<table id="load-table"><tr><th></th><th>iterations</th><th>per second</th></tr>
<tr><td>offered</td><td>${offered}</td><td>${load.offered.perSecond ?? 'n/a'}</td></tr>
<tr><td>achieved</td><td>${load.achieved.iterations}</td><td>${load.achieved.perSecond}</td></tr>
<tr><td>achieved / offered</td><td class="${load.shortfall ? 'failed' : 'passed'}" colspan="2">${ratio}</td></tr>
</table>
<p>Offered: ${escapeHtml(load.offered.basis)}. Users: ${load.perUser.length}, stopped early: ${load.stoppedEarly}.</p>
${warnings}`;
}

function latencyTable(report: BenchReport): string {
  const rows: [string, LatencySummary][] = [
    ['all calls', report.latency.all],
    ['session set-up', report.latency.setup],
    ...Object.entries(report.latency.byMethod).map(
      ([k, v]) => [`method ${k}`, v] as [string, LatencySummary],
    ),
    ...Object.entries(report.latency.byTool).map(([k, v]) => [`tool ${k}`, v] as [string, LatencySummary]),
  ];
  const cells = (l: LatencySummary) =>
    [l.count, l.p50, l.p90, l.p99, l.p999, l.max].map((v) => `<td>${v}</td>`).join('');
  return `<table id="latency-table"><tr><th>requests</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
${rows.map(([name, l]) => `<tr><td>${escapeHtml(name)}</td>${cells(l)}</tr>`).join('\n')}
</table>`;
}

function killsTable(report: BenchReport): string {
  const failover = failoverOf(report);
  if (!failover || failover.kills.length === 0) return '';
  const head = KILL_COLUMNS.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const rows = failover.kills
    .map(
      (kill) =>
        `<tr>${killRow(kill)
          .map((cell) => `<td>${escapeHtml(cell)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  return `<h2>Kills (${escapeHtml(failover.kill)})</h2>
<table id="kills"><tr>${head}</tr>
${rows}
</table>
`;
}

function verdicts(report: BenchReport): string {
  const rows = [
    ...report.scenario.checks.map((c) => [c.passed, `check: ${c.name}`, c.detail] as const),
    ...report.thresholds.map(
      (t) => [t.passed, `threshold: ${t.expression}`, `actual ${formatMeasured(t.actual, t.unit)}`] as const,
    ),
  ];
  if (rows.length === 0) return '<p>No checks or thresholds.</p>';
  return `<table id="verdicts">${rows
    .map(
      ([passed, name, detail]) =>
        `<tr><td class="${passed ? 'passed' : 'failed'}">${passed ? 'ok' : 'FAIL'}</td><td>${escapeHtml(name)}</td><td>${escapeHtml(detail)}</td></tr>`,
    )
    .join('\n')}</table>`;
}
