import { renderToString } from 'ink';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { BenchStartEvent, BenchTickEvent } from '../../src/bench/engine.js';
import { formatSummary } from '../../src/bench/summary-table.js';
import { plainLine, progressBar, viewModel } from '../../src/ui/bench-view-model.js';
import { DashboardView } from '../../src/ui/dashboard.js';
import { benchOptions } from '../helpers/bench-options.js';
import { sampleReport } from '../helpers/bench-report.js';

const options = benchOptions('http://127.0.0.1:9/mcp', { clients: 4, duration: 10_000 });
const start: BenchStartEvent = {
  options,
  target: { url: options.url },
  startedAt: new Date(),
  plannedMs: 10_000,
};
const tick: BenchTickEvent = {
  elapsedMs: 2500,
  plannedMs: 10_000,
  progress: 0.25,
  targetRatePerSecond: undefined,
  virtualUsers: 4,
  dropped: 0,
  live: {
    requests: 300,
    iterations: 296,
    errors: 3,
    limited: 1,
    p50: 2.5,
    p99: 12.25,
    sessionsOpened: 2,
    sessionsLost: 0,
    instances: { w2: 100, w1: 200 },
    lastSecond: {
      second: 1,
      requests: 120,
      errors: 0,
      limited: 0,
      p50: 2,
      p90: 4,
      p99: 9,
      max: 11,
      byInstance: {},
    },
  },
};

describe('bench displays', () => {
  it('derive the same view from engine events', () => {
    const model = viewModel(start, tick);
    expect(model).toMatchObject({ ratePerSecond: 120, leftS: 7.5, errorRate: 0.01 });
    expect(model.instances.map((i) => [i.id, i.count])).toEqual([
      ['w1', 200],
      ['w2', 100],
    ]);
    expect(progressBar(0.5, 10)).toBe('[#####.....]');
    expect(plainLine(model)).toBe(
      '[2.5s/10.0s 25%] 120 req/s  p50 2.50ms p99 12.25ms  errors 3 (1.00%)  429s 1  sessions 2 lost 0  dropped 0  instances w1=200 w2=100',
    );
  });

  it('renders the dashboard: rate, latency, errors, instances and time left', () => {
    const text = renderToString(
      createElement(DashboardView, { model: viewModel(start, tick), logs: ['killed worker w2'] }),
      {
        columns: 120,
      },
    );
    expect(text).toContain('mcp-scale bench mixed (closed model, 4 clients)');
    expect(text).toContain('25% 2.5s / 10.0s  7.5s left');
    expect(text).toContain('rate 120/s');
    expect(text).toContain('p99 12.25ms');
    expect(text).toContain('errors 3 (1.00%)');
    expect(text).toMatch(/w1\s+#{30} 200 \(66\.7%\)/);
    expect(text).toMatch(/w2\s+#{15} 100 \(33\.3%\)/);
    expect(text).toContain('killed worker w2');
  });

  it('ends a human run with a summary table', () => {
    const text = formatSummary(sampleReport());
    expect(text).toContain('requests   100 (50/s)   iterations 98 (49/s)');
    expect(text).toMatch(/all calls\s+98/);
    expect(text).toContain('429s       2   with Retry-After 2   without 0');
    expect(text).toContain('instances  w1 50 (50.00%)   w2 50 (50.00%)');
  });
});
