import { afterEach, describe, expect, it } from 'vitest';
import { BenchEngine, runBench } from '../../src/bench/engine.js';
import { activeWindows, parseUserStages } from '../../src/bench/load/user-stages.js';
import { formatSummary } from '../../src/bench/summary-table.js';
import { applyThresholds, parseThreshold } from '../../src/bench/thresholds.js';
import type { ResponseRecord } from '../../src/bench/types.js';
import { benchOptions } from '../helpers/bench-options.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * The closed model holds its load for the whole run: with think time every
 * user keeps running to the end, and the iterations each user completed
 * match "active time / (think + latency)", computed here from the report's
 * own latencies (never from how fast this machine is).
 */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function server(sdk: 'v1' | 'v2'): Promise<BenchServer> {
  const started = await startBenchServer({ sdk, instanceId: sdk });
  closers.push(() => started.close());
  return started;
}

/** Iterations a user with this active time should complete: k·think + (k-1)·L + setup < W. */
function expectedIterations(activeMs: number, thinkMs: number, latencyMs: number, setupMs: number): number {
  return Math.max(0, Math.ceil((activeMs - setupMs + latencyMs) / (thinkMs + latencyMs) - 1e-9) - 1);
}

function recordsByUser(engine: BenchEngine): Map<number, ResponseRecord[]> {
  const byUser = new Map<number, ResponseRecord[]>();
  engine.on('response', (record) => {
    const list = byUser.get(record.vu) ?? [];
    list.push(record);
    byUser.set(record.vu, list);
  });
  return byUser;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe('bench closed model arithmetic', () => {
  it('keeps every user running to the end with think time; iterations match the arithmetic (2025)', async () => {
    const s = await server('v1');
    const think = 250;
    const durationMs = 4000;
    const options = benchOptions(s.url, {
      era: '2025',
      clients: 8,
      think: `${think}ms`,
      duration: durationMs,
      scenario: 'mixed',
    });
    const engine = new BenchEngine({ ...options, slowCalls: false }, { url: s.url });
    const byUser = recordsByUser(engine);
    const report = await engine.run();

    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(report.load.stoppedEarly).toBe(0);
    expect(report.load.warnings).toEqual([]);
    expect(report.load.perUser).toHaveLength(8);
    // Per-user counts add up to the totals and to what the server answered.
    expect(sum(report.load.perUser.map((u) => u.iterations))).toBe(report.totals.iterations);
    expect(report.load.achieved.iterations).toBe(report.totals.iterations);
    expect(report.totals.requests).toBe(s.counts.requests);

    const latency = report.latency.all.mean;
    const setup = report.latency.setup.mean;
    for (const user of report.load.perUser) {
      // Each user's own arithmetic, from its own records: within one iteration of the plan.
      const all = byUser.get(user.vu) ?? [];
      const records = all.filter((r) => r.method !== 'initialize');
      const own = sum(records.map((r) => r.latencyMs)) / Math.max(1, records.length);
      const ownSetup = sum(all.filter((r) => r.method === 'initialize').map((r) => r.latencyMs));
      const expected = expectedIterations(durationMs, think, own, ownSetup);
      expect(Math.abs(user.iterations - expected)).toBeLessThanOrEqual(1);
      expect(user.offered).not.toBeNull();
      expect(Math.abs(user.iterations - (user.offered ?? 0))).toBeLessThanOrEqual(1);
      // Still running at the end: its next request would have been due after the deadline.
      const last = records.reduce((a, b) => (b.at > a.at ? b : a));
      expect(last.at + think + 100).toBeGreaterThanOrEqual(durationMs);
    }
    // The whole run: users x duration / (think + latency), within 5%.
    const planned = 8 * expectedIterations(durationMs, think, latency, setup);
    expect(report.load.achievedRatio).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(report.totals.iterations - planned)).toBeLessThanOrEqual(Math.max(8, planned * 0.05));
  });

  it('ramps users by stages: starts and stops each user when the planned level crosses it (2026)', async () => {
    const s = await server('v2');
    const think = 100;
    const stagesText = '0-6:1s,hold:2s,6-0:1s';
    const options = benchOptions(s.url, { era: '2026', stages: stagesText, think: `${think}ms` });
    expect(options.model).toMatchObject({ kind: 'closed', clients: 6 });
    expect(options.durationMs).toBe(4000);
    const engine = new BenchEngine({ ...options, slowCalls: false }, { url: s.url });
    const byUser = recordsByUser(engine);
    const report = await engine.run();

    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.options.userStages).toEqual(parseUserStages(stagesText));
    expect(report.eras['2026'].virtualUsers).toBe(6);
    expect(s.counts.byMethod['server/discover']).toBe(6);
    expect(report.load.stoppedEarly).toBe(0);
    expect(report.totals.errors).toBe(0);

    const stages = parseUserStages(stagesText);
    // The load starts at most this late: user 1's first request is due 1/6 s + think after it.
    const firstOf = (vu: number) => Math.min(...(byUser.get(vu) ?? []).map((r) => r.intendedAt));
    const lastOf = (vu: number) =>
      Math.max(
        ...(byUser.get(vu) ?? []).filter((r) => r.method !== 'server/discover').map((r) => r.intendedAt),
      );
    const window0 = activeWindows(stages, 1)[0];
    const loadStartAtMost = firstOf(0) - think - (window0?.startMs ?? 0);
    for (let vu = 0; vu < 6; vu++) {
      const [window] = activeWindows(stages, vu + 1);
      if (!window) throw new Error(`user ${vu} has no window`);
      // Starts no earlier than its share of the ramp up, ends before its share of the ramp down.
      expect(firstOf(vu)).toBeGreaterThanOrEqual(window.startMs + think);
      expect(lastOf(vu)).toBeLessThan(loadStartAtMost + window.endMs);
    }
    // Earlier users run longer: user 1 for 3.67 s, user 6 for 2 s.
    const iterations = report.load.perUser.map((u) => u.iterations);
    expect(iterations[0]).toBeGreaterThan(iterations[5] ?? 0);
    for (const user of report.load.perUser) {
      expect(Math.abs(user.iterations - (user.offered ?? 0))).toBeLessThanOrEqual(1);
    }
    expect(report.load.achievedRatio).toBeGreaterThanOrEqual(0.95);
  });

  it('warns and fails "achieved>95%" when the load was not produced (open model, pool too small)', async () => {
    const slow = await startBenchServer({ sdk: 'v2', instanceId: 'slow', delayMs: 200 });
    closers.push(() => slow.close());
    const options = benchOptions(slow.url, {
      era: '2026',
      rate: '40/s',
      duration: 1000,
      maxClients: 2,
      preAllocate: 2,
      scenario: 'cache',
      tool: 'get_product',
      args: '{"id":"p00001"}',
    });
    const report = applyThresholds(await runBench(options, { url: slow.url }), [
      parseThreshold('achieved>95%'),
    ]);

    expect(report.load.offered.iterations).toBe(40);
    // Every arrival is either achieved or dropped: nothing vanishes.
    expect(report.load.achieved.iterations + report.totals.dropped).toBe(40);
    expect(report.load.achieved.iterations).toBe(slow.counts.byTool.get_product);
    expect(report.load.shortfall).toBe(true);
    expect(report.load.warnings.join('\n')).toMatch(/produced less load than asked/);
    expect(report.passed).toBe(false);
    expect(report.thresholds[0]).toMatchObject({ expression: 'achieved>95%', passed: false });
    expect(formatSummary(report)).toMatch(/^WARNING +achieved \d+ of 40 offered iterations/m);
  });
});
