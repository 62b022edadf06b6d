import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCapacity } from '../../src/bench/capacity.js';
import { resolveBenchPlan } from '../../src/bench/options.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { startBenchProxy, type BenchProxy } from '../helpers/bench-proxy.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * --find-capacity against two servers that each answer one call at a time
 * in 20 ms (50 calls/s each): the search must find a passing rate and a
 * failing one, and report what the passing one achieved, per worker.
 */
let servers: BenchServer[];
let proxy: BenchProxy;

beforeAll(async () => {
  servers = await Promise.all(
    ['c1', 'c2'].map((instanceId) =>
      startBenchServer({ sdk: 'v2', instanceId, delayMs: 20, serialize: true }),
    ),
  );
  proxy = await startBenchProxy(
    servers.map((s) => s.url),
    'round-robin',
  );
});

afterAll(async () => {
  await proxy.close();
  for (const server of servers) await server.close();
});

describe('bench --find-capacity', () => {
  it('steps the rate up until p99 (or drops) fail and reports calls/s per worker at the target', async () => {
    const plan = resolveBenchPlan({
      findCapacity: true,
      p99: 1000,
      startRate: '20/s',
      maxRate: '2000/s',
      stepDuration: 500,
      maxClients: 10,
      era: '2026',
      scenario: 'cache',
    });
    if (!plan.capacity) throw new Error('expected a capacity plan');
    const report = await findCapacity(
      { ...plan.options, url: proxy.url, tickMs: 200 },
      { url: proxy.url },
      plan.capacity,
    );
    const capacity = report.capacity;
    if (!capacity) throw new Error('expected a capacity section');

    expect(reportSchemaErrors(report)).toEqual([]);
    const passing = capacity.steps.filter((step) => step.passed);
    const failing = capacity.steps.filter((step) => !step.passed);
    expect(passing.length).toBeGreaterThan(0);
    expect(failing.length).toBeGreaterThan(0);
    // The rates rise by 1.5x until the first failure, then bisect.
    const [first, second] = capacity.steps;
    expect(first?.rate).toBe(20);
    expect(second?.rate).toBe(30);
    for (const step of capacity.steps) {
      const withinTarget = step.p99Ms <= 1000 && step.errorRate <= 0.01;
      if (step.passed) expect(withinTarget).toBe(true);
      else expect(!withinTarget || step.dropped > 0).toBe(true);
    }
    const best = Math.max(...passing.map((step) => step.callsPerSecond));
    expect(capacity).toMatchObject({ p99TargetMs: 1000, callsPerSecond: best, workers: 2 });
    expect(capacity.callsPerSecondPerWorker).toBeCloseTo(best / 2, 2);
    expect(report.totals.iterationsPerSecond).toBe(best);
  });
});
