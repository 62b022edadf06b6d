import { MetricsCollector } from '../../src/bench/metrics.js';
import { closedModelLoad } from '../../src/bench/load/offered.js';
import { buildReport } from '../../src/bench/report.js';
import type { BenchReport } from '../../src/bench/report-schema.js';
import type { ResponseRecord } from '../../src/bench/types.js';
import { benchOptions } from './bench-options.js';

/**
 * A report built by the real metrics and report code from known records:
 * 2 initializes, 98 calls (2 of them 429s) over ~2 s on two instances.
 */
export function sampleReport(): BenchReport {
  const metrics = new MetricsCollector();
  const at = (i: number) => 10 + i * 20;
  for (const vu of [0, 1]) {
    metrics.record(
      record({ at: 5, latencyMs: 5, vu, method: 'initialize', sessionId: `s${vu}`, sessionOpened: true }),
    );
  }
  for (let i = 0; i < 98; i++) {
    const limited = i % 49 === 48;
    metrics.record(
      record({
        at: at(i),
        latencyMs: 1 + (i % 10),
        vu: i % 2,
        method: 'tools/call',
        tool: i % 3 === 0 ? 'get_user' : 'get_product',
        sessionId: `s${i % 2}`,
        ok: !limited,
        status: limited ? 429 : 200,
        ...(limited ? { limited: true, errorKind: 'http_429', rpcCode: -32029, retryAfterMs: 1000 } : {}),
        ...(!limited && i % 3 !== 0 ? { cache: i % 2 === 0 ? 'hit' : 'miss' } : {}),
      }),
    );
  }
  const options = benchOptions('http://127.0.0.1:1/mcp', { era: '2025', clients: 2, duration: 2000 });
  return buildReport({
    options,
    target: { url: options.url },
    startedAt: new Date('2025-01-01T00:00:00Z'),
    durationMs: 2000,
    metrics: metrics.result(),
    scenario: { name: 'mixed', checks: [] },
    dropped: 0,
    interrupted: 0,
    virtualUsers: { '2025': 2, '2026': 0 },
    load: closedModelLoad({
      users: [0, 1].map((vu) => ({
        vu,
        era: '2025' as const,
        iterations: 49,
        activeMs: 2000,
        setupMs: 5,
        retryWaitMs: 0,
        requestMs: 49 * 5.5,
        stoppedEarly: false,
      })),
      thinkMinMs: 0,
      thinkMaxMs: 0,
      meanLatencyMs: 5.5,
      budget: undefined,
      durationMs: 2000,
      timed: true,
    }),
  });
}

function record(
  fields: Partial<ResponseRecord> & { at: number; latencyMs: number; method: string; vu: number },
) {
  const base: ResponseRecord = {
    intendedAt: fields.at - fields.latencyMs,
    era: '2025',
    ok: true,
    status: 200,
    instance: fields.vu === 0 ? 'w1' : 'w2',
    ...fields,
  };
  return base;
}
