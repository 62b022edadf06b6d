import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { MetricsCollector } from '../../src/bench/metrics.js';
import { expectedAdmissions } from '../../src/bench/scenarios/ratelimit.js';
import type { ResponseRecord } from '../../src/bench/types.js';

const base = (fields: Partial<ResponseRecord> & { at: number }): ResponseRecord => ({
  intendedAt: fields.at - (fields.latencyMs ?? 1),
  latencyMs: 1,
  era: '2025',
  vu: 0,
  method: 'tools/call',
  tool: 'get_product',
  ok: true,
  status: 200,
  ...fields,
});

describe('latency histogram', () => {
  it('keeps sub-millisecond resolution and reads percentiles in ms', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) histogram.recordMs(50 + (i % 10) / 10);
    const summary = histogram.summary();
    expect(summary.count).toBe(1000);
    expect(summary.p50).toBeGreaterThanOrEqual(50.4);
    expect(summary.p50).toBeLessThanOrEqual(50.5);
    expect(summary.min).toBe(50);
    expect(summary.max).toBeCloseTo(50.9, 1);
    expect(summary.p999).toBeGreaterThanOrEqual(summary.p99);
  });

  it('summarises nothing as zeros', () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      max: 0,
    });
  });
});

describe('metrics collector', () => {
  it('counts instance changes within a session from the first response on, and not across a lost session', () => {
    const metrics = new MetricsCollector();
    const on = (at: number, instance: string, extra: Partial<ResponseRecord> = {}) =>
      metrics.record(base({ at, instance, sessionId: 's1', ...extra }));
    on(1, 'w1', { method: 'initialize', tool: undefined, sessionOpened: true });
    on(2, 'w1');
    on(3, 'w2'); // change 1
    on(4, 'w2');
    on(5, 'w1'); // change 2
    on(6, 'w3', { ok: false, status: 404, errorKind: 'http_404', sessionLost: true }); // a loss, not a change
    const result = metrics.result();
    expect(result.sessions).toEqual({
      opened: 1,
      lost: 1,
      kept: 0,
      instanceChanges: 2,
      sessionsWithInstanceChange: 1,
    });
    expect(result.instances).toEqual({ w1: 3, w2: 2, w3: 1 });
    expect(result.errorsByKind).toEqual({ http_404: 1 });
    expect(result.errorsByStatus).toEqual({ '404': 1 });
    expect(result.setupLatency.count).toBe(1);
    expect(result.latency.count).toBe(5);
    expect(result.iterations).toBe(5);
  });

  it('counts 429s, Retry-After, rate-limit headers and cache markers', () => {
    const metrics = new MetricsCollector();
    metrics.record(base({ at: 1, cache: 'miss', rateLimitHeaders: { ratelimit: 'limit=2, remaining=1' } }));
    metrics.record(base({ at: 2, cache: 'hit' }));
    metrics.record(base({ at: 3 }));
    metrics.record(
      base({
        at: 4,
        ok: false,
        status: 429,
        limited: true,
        rpcCode: -32029,
        retryAfterMs: 1000,
        errorKind: 'http_429',
      }),
    );
    metrics.record(base({ at: 5, ok: false, status: 429, limited: true, errorKind: 'http_429' }));
    const result = metrics.result();
    expect(result.limits).toEqual({
      limited: 2,
      withRetryAfter: 1,
      withoutRetryAfter: 1,
      rpcCodes: { '-32029': 1, none: 1 },
      headersSeen: { ratelimit: 'limit=2, remaining=1' },
    });
    expect(result.cache).toEqual({
      hits: 1,
      misses: 1,
      unmarked: 1,
      byTool: { get_product: { hits: 1, misses: 1 } },
    });
    expect(result.errorsByRpcCode).toEqual({ '-32029': 1 });
  });

  it('buckets the timeline per second of completion, with empty seconds kept', () => {
    const metrics = new MetricsCollector();
    metrics.record(base({ at: 100, latencyMs: 10, instance: 'w1' }));
    metrics.record(base({ at: 900, latencyMs: 30, instance: 'w2' }));
    metrics.record(base({ at: 3100, latencyMs: 20, instance: 'w1', ok: false, errorKind: 'timeout' }));
    const timeline = metrics.result().timeline;
    expect(timeline.map((b) => [b.second, b.requests, b.errors])).toEqual([
      [0, 2, 0],
      [1, 0, 0],
      [2, 0, 0],
      [3, 1, 1],
    ]);
    expect(timeline[0]?.byInstance).toEqual({ w1: 1, w2: 1 });
    expect(timeline[0]?.max).toBe(30);
    expect(timeline[3]?.p50).toBeCloseTo(20, 1); // HdrHistogram reads a bucket's highest equivalent value
  });
});

describe('expected admissions under a fixed window', () => {
  it('admits at most POINTS per window, windows anchored at the first request', () => {
    const limit = { points: 3, durationMs: 1000 };
    const sends = [0, 100, 200, 300, 400, 999, 1000, 1500, 2100].map((at) => ({ at }));
    expect(expectedAdmissions(sends, limit)).toBe(3 + 2 + 1);
    expect(expectedAdmissions([], limit)).toBe(0);
  });
});
