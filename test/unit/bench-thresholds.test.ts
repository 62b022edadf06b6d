import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { BenchReport } from '../../src/bench/report-schema.js';
import { applyThresholds, failureLines, parseThreshold } from '../../src/bench/thresholds.js';
import { sampleReport } from '../helpers/bench-report.js';

describe('threshold grammar', () => {
  it.each([
    ['p99<250ms', { metric: 'p99', operator: '<', value: 250, unit: 'ms' }],
    ['p99.9 <= 1s', { metric: 'p99.9', operator: '<=', value: 1000, unit: 'ms' }],
    ['p50<800us', { metric: 'p50', operator: '<', value: 0.8, unit: 'ms' }],
    ['max<0.12s', { metric: 'max', operator: '<', value: 120, unit: 'ms' }],
    ['p90{tool=get_product}<50ms', { metric: 'p90', filter: { key: 'tool', value: 'get_product' } }],
    ['p99{method=tools/list}<5ms', { metric: 'p99', filter: { key: 'method', value: 'tools/list' } }],
    ['errors<0.1%', { metric: 'errors', value: 0.001, unit: 'ratio' }],
    [
      'errors{kind=http_429}<=0.5',
      { metric: 'errors', filter: { key: 'kind', value: 'http_429' }, value: 0.5 },
    ],
    ['cache_hit_ratio>=90%', { metric: 'cache_hit_ratio', operator: '>=', value: 0.9 }],
    ['rps>100/s', { metric: 'rps', operator: '>', value: 100, unit: 'per_second' }],
    ['sessions_lost==0', { metric: 'sessions_lost', operator: '==', value: 0, unit: 'count' }],
    ['checks_failed != 1', { metric: 'checks_failed', operator: '!=', value: 1 }],
  ])('parses %s', (text, expected) => {
    expect(parseThreshold(text)).toMatchObject(expected);
  });

  it.each([
    ['p99', 'use METRIC OP VALUE'],
    ['p99<250kb', 'use METRIC OP VALUE'],
    ['p99<5%', 'is a latency'],
    ['p99<250', 'give a unit'],
    ['errors<5ms', 'is a ratio'],
    ['sessions_lost<1ms', 'is a count'],
    ['latency<5ms', "unknown metric 'latency'"],
    ['p99{user=x}<5ms', 'latency filters'],
    ['rps{tool=x}>1', 'takes no filter'],
  ])('rejects %s with one line', (text, message) => {
    expect(() => parseThreshold(text)).toThrow(UserError);
    expect(() => parseThreshold(text)).toThrow(message);
  });
});

describe('threshold evaluation', () => {
  const report: BenchReport = sampleReport();

  it('passes and fails against the report, with a line per failure', () => {
    const judged = applyThresholds(structuredClone(report), [
      parseThreshold('p99<250ms'),
      parseThreshold('p50>100ms'),
      parseThreshold('errors<1%'),
      parseThreshold('sessions_lost==0'),
      parseThreshold('p99{tool=nope}<1ms'),
    ]);
    expect(judged.thresholds.map((t) => t.passed)).toEqual([true, false, false, true, false]);
    expect(judged.passed).toBe(false);
    expect(failureLines(judged.thresholds)).toEqual([
      `p50>100ms: actual ${report.latency.all.p50}ms`,
      'errors<1%: actual 2%',
      'p99{tool=nope}<1ms: actual no data',
    ]);
  });

  it('passes a report when every threshold holds', () => {
    const judged = applyThresholds(structuredClone(report), [parseThreshold('iterations>=1')]);
    expect(judged.passed).toBe(true);
    expect(judged.thresholds).toEqual([
      { expression: 'iterations>=1', actual: 98, unit: 'count', passed: true },
    ]);
  });
});
