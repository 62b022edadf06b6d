import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCapacityReport, planTopology, readCapacityReport } from '../../src/plan/index.js';

/**
 * A `bench --find-capacity` report as the bench engine writes it: the plan
 * reads `schemaVersion` and `capacity`, and must ignore everything else.
 */
const FIXTURE = {
  schemaVersion: 1,
  target: 'http://127.0.0.1:8080/mcp',
  latency: { p50: 12, p99: 210 },
  sessions: { kept: 100, lost: 0 },
  capacity: {
    p99TargetMs: 250,
    callsPerSecond: 360,
    workers: 3,
    callsPerSecondPerWorker: 120,
    steps: [
      { rate: 60, p99Ms: 25, errors: 0 },
      { rate: 120, p99Ms: 38, errors: 0 },
      { rate: 240, p99Ms: 95, errors: 0 },
      { rate: 360, p99Ms: 230, errors: 0 },
      { rate: 480, p99Ms: 610, errors: 3 },
    ],
  },
};

let dir: string;
const write = (name: string, content: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-report-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('plan from a bench --find-capacity report', () => {
  it('sizes workers from the measured capacity per worker at 70% utilisation', async () => {
    const file = write('bench.json', JSON.stringify(FIXTURE));
    const report = await readCapacityReport(file);
    const users = 2400;
    const callsPerUser = { points: 12, durationMs: 60_000 };
    const result = planTopology({ users, callsPerUser, report, reportFile: file });

    // Worked out from the fixture alone: 2400 users x 12/min = 480 calls/s;
    // one worker does 120 calls/s at p99 <= 250 ms, 84 calls/s at 70%.
    const demand = (users * callsPerUser.points) / 60;
    const perWorker = FIXTURE.capacity.callsPerSecondPerWorker;
    const expectedWorkers = Math.ceil(demand / (perWorker * 0.7));
    expect(demand).toBe(480);
    expect(expectedWorkers).toBe(6); // 480 / 84 = 5.71

    expect(result.inputs.demandCallsPerSecond).toBeCloseTo(demand, 9);
    expect(result.inputs.p99TargetMs).toBe(250);
    expect(result.recommendation.workers).toBe(expectedWorkers);
    expect(result.basis).toMatchObject({
      kind: 'measured',
      reportFile: file,
      reportSchemaVersion: 1,
      reportP99TargetMs: 250,
      reportWorkers: 3,
      capacityPerWorker: perWorker,
      measuredCallsPerSecond: 360,
      capacitySource: 'report.callsPerSecondPerWorker',
      utilisationTarget: 0.7,
    });
    // 2400 users is above 1000: Kubernetes, HPA from the measured count.
    expect(result.recommendation.platform).toBe('kubernetes');
    expect(result.recommendation.autoscaling).toEqual({
      minReplicas: expectedWorkers,
      maxReplicas: expectedWorkers * 2,
      cpuTargetPercent: 70,
    });
    const sources = new Set(result.reasoning.map((line) => line.source));
    for (const source of ['report', 'assumption', 'derived', 'input'] as const)
      expect(sources).toContain(source);
    const reportLine = result.reasoning.find((line) => line.source === 'report');
    expect(reportLine?.text).toContain('capacity.callsPerSecondPerWorker');
    expect(result.reasoning.map((line) => line.text).join('\n')).toContain('70% utilisation');
  });

  it('divides callsPerSecond by workers when the per-worker number is absent', () => {
    const { callsPerSecondPerWorker: _omit, ...capacity } = FIXTURE.capacity;
    const report = parseCapacityReport({ ...FIXTURE, capacity });
    const result = planTopology({ users: 600, callsPerUser: { points: 20, durationMs: 60_000 }, report });
    // 600 x 20/min = 200 calls/s; 360 / 3 = 120 per worker; 200 / 84 = 2.38 -> 3.
    expect(result.basis).toMatchObject({
      capacityPerWorker: 120,
      capacitySource: 'report.callsPerSecond / workers',
    });
    expect(result.recommendation.workers).toBe(3);
  });

  it('re-reads capacity from the steps when --p99 differs from the report target, and says so', () => {
    const report = parseCapacityReport(FIXTURE);
    const result = planTopology({
      users: 2400,
      callsPerUser: { points: 12, durationMs: 60_000 },
      p99TargetMs: 100,
      report,
      reportFile: 'bench.json',
    });
    // At p99 <= 100 ms the fixture's steps pass up to 240 calls/s (95 ms); 360 had 230 ms.
    const passing = FIXTURE.capacity.steps.filter((step) => step.p99Ms <= 100);
    const lastRate = passing[passing.length - 1]?.rate ?? 0;
    expect(lastRate).toBe(240);
    const perWorker = lastRate / FIXTURE.capacity.workers; // 80
    expect(result.basis).toMatchObject({
      p99TargetMs: 100,
      capacityPerWorker: perWorker,
      capacitySource: 'report.steps',
    });
    expect(result.recommendation.workers).toBe(Math.ceil(480 / (perWorker * 0.7))); // 480 / 56 = 8.57 -> 9
    expect(result.inputs.p99TargetMs).toBe(100);
    const note = result.reasoning.find((line) => line.source === 'note' && /250 ms/.test(line.text));
    expect(note?.text).toContain('100 ms');
  });

  it('stops at the first step that missed the target, even if a later one passed again', () => {
    const report = parseCapacityReport({
      capacity: {
        p99TargetMs: 250,
        workers: 2,
        steps: [
          { rate: 100, p99Ms: 50 },
          { rate: 200, p99Ms: 300 },
          { rate: 300, p99Ms: 240 },
        ],
      },
    });
    const result = planTopology({ users: 10, callsPerUser: { points: 60, durationMs: 60_000 }, report });
    expect(result.basis).toMatchObject({ capacityPerWorker: 50, measuredCallsPerSecond: 100 });
  });

  it('keeps two workers from 10 users up even when one would carry the load', () => {
    const report = parseCapacityReport(FIXTURE);
    const result = planTopology({ users: 10, callsPerUser: tenPerMinute(), report });
    // 10 x 10/min = 1.67 calls/s, far below one worker's 84.
    expect(result.recommendation.workers).toBe(2);
    expect(result.reasoning.some((line) => /one restart should not be an outage/.test(line.text))).toBe(true);
    const small = planTopology({ users: 3, callsPerUser: tenPerMinute(), report });
    expect(small.recommendation.workers).toBe(1);
    expect(small.recommendation.redis).toBe('none');
  });

  it('fails with one line when no step met the target', () => {
    const report = parseCapacityReport(FIXTURE);
    expect(() =>
      planTopology({
        users: 100,
        callsPerUser: tenPerMinute(),
        p99TargetMs: 10,
        report,
        reportFile: 'b.json',
      }),
    ).toThrow(/^no load step in b\.json met p99 <= 10 ms/);
  });

  it('a measured medium-band plan on Kubernetes deploys a replicated Redis (gen --redis ha)', () => {
    const report = parseCapacityReport({
      capacity: { p99TargetMs: 250, callsPerSecond: 60, workers: 3, steps: [] },
    });
    // 800 x 60/min = 800 calls/s; 20 calls/s per worker at 70% = 14, so ceil(800 / 14) = 58 workers.
    const result = planTopology({ users: 800, callsPerUser: { points: 60, durationMs: 60_000 }, report });
    expect(result.recommendation).toMatchObject({ workers: 58, redis: 'replicated', platform: 'kubernetes' });
    const k8s = result.commands.find((command) => command.argv[2] === 'k8s');
    expect(k8s?.argv.join(' ')).toContain('--redis ha');
    expect(
      result.reasoning.some((line) =>
        /gen --redis ha deploys a Redis primary, a replica and three sentinels.*redis-sentinel:\/\//.test(
          line.text,
        ),
      ),
    ).toBe(true);
  });

  it('notes a newer report schema instead of refusing it', () => {
    const report = parseCapacityReport({ ...FIXTURE, schemaVersion: 2 });
    const result = planTopology({ users: 50, callsPerUser: tenPerMinute(), report });
    expect(result.reasoning.some((line) => /schemaVersion 2/.test(line.text))).toBe(true);
  });
});

describe('reading a report defensively', () => {
  it.each([
    ['not JSON', '{ nope', /bad\.json is not a bench --find-capacity report: not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no capacity', JSON.stringify({ schemaVersion: 1, latency: {} }), /no "capacity" section/],
    ['capacity null', JSON.stringify({ capacity: null }), /no capacity result/],
    ['workers 0', JSON.stringify({ capacity: { ...FIXTURE.capacity, workers: 0 } }), /capacity\.workers/],
    [
      'no target',
      JSON.stringify({ capacity: { ...FIXTURE.capacity, p99TargetMs: 'fast' } }),
      /capacity\.p99TargetMs/,
    ],
    ['bad step', JSON.stringify({ capacity: { ...FIXTURE.capacity, steps: [{ rate: -1 }] } }), /steps\[0\]/],
    [
      'nothing measured',
      JSON.stringify({ capacity: { p99TargetMs: 250, workers: 1, steps: [] } }),
      /neither callsPerSecond/,
    ],
  ])('%s: one-line UserError', async (_name, content, message) => {
    const file = write('bad.json', content);
    const error: unknown = await readCapacityReport(file).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'UserError', exitCode: 2 });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('a missing file is a one-line UserError naming it', async () => {
    const missing = path.join(dir, 'missing.json');
    await expect(readCapacityReport(missing)).rejects.toThrow(`cannot read report ${missing}: ENOENT`);
  });
});

function tenPerMinute() {
  return { points: 10, durationMs: 60_000 };
}
