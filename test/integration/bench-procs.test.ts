import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchTickEvent } from '../../src/bench/engine.js';
import { mergeReports } from '../../src/bench/merge/merge-reports.js';
import { ProcsEngine } from '../../src/bench/procs/procs-engine.js';
import { benchOptions } from '../helpers/bench-options.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * `--procs 2`: the users split across two worker threads (the compiled
 * load worker in dist/, as the CLI runs it), reported as one. The counts
 * are the server's own; the percentiles are the exact merge of the two
 * processes' distributions; the live ticks show the sum.
 */
let server: BenchServer;
beforeAll(async () => {
  server = await startBenchServer({ sdk: 'v2', instanceId: 'procs' });
});
afterAll(async () => {
  await server.close();
});

describe('bench --procs', () => {
  it('splits users across 2 processes: server-side counts, exact merged percentiles, summed live ticks', async () => {
    const before = { ...server.counts, byTool: { ...server.counts.byTool } };
    const options = benchOptions(server.url, {
      mix: '2025=50,2026=50',
      clients: 6,
      think: '50ms',
      duration: 2500,
      procs: '2',
    });
    expect(options.procs).toBe(2);
    const engine = new ProcsEngine({ ...options, slowCalls: false }, { url: server.url }, 2);
    const ticks: BenchTickEvent[] = [];
    engine.on('tick', (tick) => ticks.push(tick));
    const report = await engine.run();

    expect(reportSchemaErrors(report)).toEqual([]);
    expect(engine.parts).toHaveLength(2);
    expect(report.options.procs).toBe(2);
    expect(report.options.clients).toBe(6);
    expect(report.options.userStages).toEqual([{ from: 6, to: 6, durationMs: 2500 }]);
    // Both processes loaded; together they are what the server answered.
    for (const part of engine.parts) expect(part.totals.iterations).toBeGreaterThan(0);
    expect(report.totals.requests).toBe(server.counts.requests - before.requests);
    for (const [tool, summary] of Object.entries(report.latency.byTool)) {
      expect(summary.count).toBe((server.counts.byTool[tool] ?? 0) - (before.byTool[tool] ?? 0));
    }
    expect(report.totals.errors).toBe(0);
    // The same users one process would have run: numbers 0..5, eras in the mix's exact split.
    expect(report.load.perUser.map((u) => u.vu)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(report.eras['2025'].virtualUsers).toBe(3);
    expect(report.eras['2026'].virtualUsers).toBe(3);
    expect(report.load.stoppedEarly).toBe(0);
    expect(report.load.achievedRatio).toBeGreaterThanOrEqual(0.95);
    expect(report.load.achieved.iterations).toBe(report.totals.iterations);

    // Percentiles: the merged distribution holds every request of both processes.
    expect(report.latency.all.count).toBe(engine.parts.reduce((n, p) => n + p.latency.all.count, 0));
    expect(report.latency).toEqual(mergeReports(engine.parts).latency);
    const [a, b] = engine.parts;
    expect(report.latency.all.max).toBe(Math.max(a?.latency.all.max ?? 0, b?.latency.all.max ?? 0));
    expect(report.latency.all.p99).toBeGreaterThanOrEqual(
      Math.min(a?.latency.all.p99 ?? 0, b?.latency.all.p99 ?? 0),
    );
    expect(report.latency.all.p99).toBeLessThanOrEqual(
      Math.max(a?.latency.all.p99 ?? 0, b?.latency.all.p99 ?? 0),
    );

    // Live: the ticks add both processes up and never count more than the run did.
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.some((tick) => tick.virtualUsers === 6)).toBe(true);
    const counted = ticks.map((tick) => tick.live.requests);
    expect([...counted].sort((x, y) => x - y)).toEqual(counted);
    expect(counted.at(-1)).toBeLessThanOrEqual(report.totals.requests);
  });

  it('splits an --iterations budget exactly and an open-model rate by process', async () => {
    const before = server.counts.requests;
    const closed = benchOptions(server.url, { era: '2026', clients: 3, iterations: 41, procs: '2' });
    const report = await new ProcsEngine(closed, { url: server.url }, 2).run();
    expect(report.totals.iterations).toBe(41);
    expect(report.load.offered.iterations).toBe(41);
    expect(report.totals.requests).toBe(server.counts.requests - before);

    const open = benchOptions(server.url, { era: '2026', rate: '30/s', duration: 1000, procs: '2' });
    const openReport = await new ProcsEngine(open, { url: server.url }, 2).run();
    expect(openReport.load.offered.iterations).toBe(30);
    expect(openReport.load.achieved.iterations + openReport.totals.dropped).toBe(30);
    expect(openReport.options.stages?.[0]?.fromPerSecond).toBe(30);
  });
});
