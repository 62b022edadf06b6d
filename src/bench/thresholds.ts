import { UserError } from '../errors.js';
import type { BenchReport, ThresholdResult } from './report-schema.js';

/**
 * Pass/fail criteria, k6-style: `--threshold "p99<250ms"`.
 *
 *   THRESHOLD := METRIC [ "{" KEY "=" VALUE "}" ] OP NUMBER [UNIT]
 *   OP        := "<" | "<=" | ">" | ">=" | "==" | "!="
 *
 * Latency metrics (p50 p90 p99 p99.9 max mean min; UNIT us|ms|s, required;
 * filter {tool=NAME} or {method=NAME}); ratios (errors, cache_hit_ratio,
 * dropped_ratio, achieved = achieved/offered iterations; UNIT %, bare = a
 * fraction; errors takes {kind=http_429});
 * rates (rps, throughput; UNIT /s optional); counts (bare whole numbers).
 */
type Unit = 'ms' | 'ratio' | 'per_second' | 'count';
type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  expression: string;
  metric: string;
  filter?: { key: string; value: string };
  operator: Operator;
  /** In the metric's unit: ms, a fraction, per second, or a count. */
  value: number;
  unit: Unit;
}

const LATENCY = {
  p50: 'p50',
  p90: 'p90',
  p99: 'p99',
  'p99.9': 'p999',
  p999: 'p999',
  max: 'max',
  mean: 'mean',
  min: 'min',
} as const;

type Reader = (report: BenchReport, filter?: Threshold['filter']) => number | null | undefined;

const COUNTS: Record<string, Reader> = {
  requests: (r) => r.totals.requests,
  iterations: (r) => r.totals.iterations,
  error_count: (r) => r.totals.errors,
  dropped: (r) => r.totals.dropped,
  interrupted: (r) => r.totals.interrupted,
  sessions_opened: (r) => r.sessions.opened,
  sessions_kept: (r) => r.sessions.kept,
  sessions_lost: (r) => r.sessions.lost,
  instance_changes: (r) => r.sessions.instanceChanges,
  limited: (r) => r.rateLimit.limited,
  limited_with_retry_after: (r) => r.rateLimit.withRetryAfter,
  limited_without_retry_after: (r) => r.rateLimit.withoutRetryAfter,
  cache_hits: (r) => r.cache.hits,
  cache_misses: (r) => r.cache.misses,
  checks_failed: (r) => r.scenario.checks.filter((check) => !check.passed).length,
  users_stopped_early: (r) => r.load.stoppedEarly,
};

const RATIOS: Record<string, Reader> = {
  errors: (r, filter) =>
    filter
      ? r.totals.requests > 0
        ? (r.errors.byKind[filter.value] ?? 0) / r.totals.requests
        : 0
      : r.totals.errorRate,
  cache_hit_ratio: (r) => r.cache.hitRatio,
  /** Achieved iterations over offered ones (null when nothing was offered: raw without a rate). */
  achieved: (r) => r.load.achievedRatio,
  dropped_ratio: (r) => {
    const attempted = r.totals.iterations + r.totals.dropped;
    return attempted > 0 ? r.totals.dropped / attempted : 0;
  },
};

const RATES: Record<string, Reader> = {
  rps: (r) => r.totals.requestsPerSecond,
  throughput: (r) => r.totals.iterationsPerSecond,
};

const PATTERN =
  /^([a-z_][a-z0-9_.]*)(?:\{([a-z]+)=([^}]+)\})?(<=|>=|==|!=|<|>)(-?\d+(?:\.\d+)?)(us|ms|s|%|\/s)?$/;

export function parseThreshold(text: string): Threshold {
  const expression = text.trim();
  const match = PATTERN.exec(expression.replace(/\s+/g, ''));
  const bad = (why: string) => new UserError(`invalid --threshold '${text}': ${why}`);
  if (!match) throw bad('use METRIC OP VALUE, e.g. p99<250ms, errors<0.1%, sessions_lost==0');
  const [, metric = '', key, filterValue, operator = '<', number = '0', suffix] = match;
  const filter = key && filterValue ? { key, value: filterValue } : undefined;
  const value = Number(number);
  let unit: Unit;
  let scaled = value;
  if (metric in LATENCY) {
    unit = 'ms';
    // No bare numbers: k6 reads them as ms, every other mcp-scale duration as seconds.
    if (!suffix || !['us', 'ms', 's'].includes(suffix))
      throw bad(`${metric} is a latency: give a unit, us, ms or s`);
    scaled = suffix === 's' ? value * 1000 : suffix === 'us' ? value / 1000 : value;
    if (filter && filter.key !== 'tool' && filter.key !== 'method')
      throw bad('latency filters are {tool=NAME} or {method=NAME}');
  } else if (metric in RATIOS) {
    unit = 'ratio';
    if (suffix && suffix !== '%') throw bad(`${metric} is a ratio: use % or a fraction`);
    scaled = suffix === '%' ? value / 100 : value;
    if (filter && !(metric === 'errors' && filter.key === 'kind'))
      throw bad('only errors takes a filter: {kind=KIND}');
  } else if (metric in RATES) {
    unit = 'per_second';
    if (suffix && suffix !== '/s') throw bad(`${metric} is a rate per second: use /s or a bare number`);
  } else if (metric in COUNTS) {
    unit = 'count';
    if (suffix) throw bad(`${metric} is a count: use a bare number`);
  } else {
    throw bad(`unknown metric '${metric}' (see \`mcp-scale bench --help\`)`);
  }
  if (filter && unit !== 'ms' && unit !== 'ratio') throw bad(`${metric} takes no filter`);
  return {
    expression,
    metric,
    ...(filter ? { filter } : {}),
    operator: operator as Operator,
    value: scaled,
    unit,
  };
}

export const THRESHOLD_METRICS = [
  ...Object.keys(LATENCY),
  ...Object.keys(RATIOS),
  ...Object.keys(RATES),
  ...Object.keys(COUNTS),
];

/** The metric's value in the report, or null when the report has no such data. */
export function measure(report: BenchReport, threshold: Threshold): number | null {
  const { metric, filter } = threshold;
  if (metric in LATENCY) {
    const field = LATENCY[metric as keyof typeof LATENCY];
    const summary = !filter
      ? report.latency.all
      : filter.key === 'tool'
        ? report.latency.byTool[filter.value]
        : report.latency.byMethod[filter.value];
    return summary && summary.count > 0 ? summary[field] : null;
  }
  const reader = RATIOS[metric] ?? RATES[metric] ?? COUNTS[metric];
  return reader?.(report, filter) ?? null;
}

function compare(actual: number, operator: Operator, expected: number): boolean {
  const epsilon = 1e-9;
  switch (operator) {
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected + epsilon;
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected - epsilon;
    case '==':
      return Math.abs(actual - expected) <= epsilon;
    case '!=':
      return Math.abs(actual - expected) > epsilon;
  }
}

export function evaluateThresholds(report: BenchReport, thresholds: readonly Threshold[]): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const actual = measure(report, threshold);
    return {
      expression: threshold.expression,
      actual,
      unit: threshold.unit,
      passed: actual !== null && compare(actual, threshold.operator, threshold.value),
    };
  });
}

/** Adds threshold verdicts to a report (in place) and returns it. */
export function applyThresholds(report: BenchReport, thresholds: readonly Threshold[]): BenchReport {
  report.thresholds = evaluateThresholds(report, thresholds);
  report.passed = report.thresholds.every((result) => result.passed);
  return report;
}

export function formatMeasured(actual: number | null, unit: string): string {
  if (actual === null) return 'no data';
  switch (unit) {
    case 'ms':
      return `${trim(actual)}ms`;
    case 'ratio':
      return `${trim(actual * 100)}%`;
    case 'per_second':
      return `${trim(actual)}/s`;
    default:
      return String(actual);
  }
}

/** One line per failed threshold, for ThresholdError. */
export function failureLines(results: readonly ThresholdResult[]): string[] {
  return results
    .filter((result) => !result.passed)
    .map((result) => `${result.expression}: actual ${formatMeasured(result.actual, result.unit)}`);
}

function trim(value: number): string {
  return Number(value.toFixed(3)).toString();
}
