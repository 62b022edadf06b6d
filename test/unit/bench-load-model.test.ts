import { describe, expect, it } from 'vitest';
import { closedModelLoad, type UserLoad } from '../../src/bench/load/offered.js';
import {
  activeWindows,
  constantUsers,
  parseUserStages,
  peakUsers,
  usersAt,
} from '../../src/bench/load/user-stages.js';
import { resolveBenchPlan } from '../../src/bench/options.js';
import { RunControl } from '../../src/bench/run-control.js';
import { measure, parseThreshold } from '../../src/bench/thresholds.js';
import { sampleReport } from '../helpers/bench-report.js';

const user = (vu: number, iterations: number, fields: Partial<UserLoad> = {}): UserLoad => ({
  vu,
  era: '2025',
  iterations,
  activeMs: 20_000,
  setupMs: 0,
  retryWaitMs: 0,
  requestMs: iterations * 50,
  stoppedEarly: false,
  ...fields,
});

const closed = (users: UserLoad[], thinkMinMs = 1000, thinkMaxMs = thinkMinMs) =>
  closedModelLoad({
    users,
    thinkMinMs,
    thinkMaxMs,
    meanLatencyMs: 50,
    budget: undefined,
    durationMs: 20_000,
    timed: true,
  });

describe('offered versus achieved (closed model)', () => {
  it('offers users x duration / (think + latency), counted per user', () => {
    // 20 s, 1 s think, 50 ms latency: requests due at 1, 2.05, ..., k + 0.05(k-1) < 20 -> 19.
    const load = closed(Array.from({ length: 20 }, (_, vu) => user(vu, 19)));
    expect(load.perUser.every((u) => u.offered === 19)).toBe(true);
    expect(load.offered.iterations).toBe(380);
    expect(load.achievedRatio).toBe(1);
    expect(load.shortfall).toBe(false);
    expect(load.warnings).toEqual([]);
  });

  it('shows the think-time decay the old closed model had: users that went quiet are a shortfall', () => {
    // What issue 17 saw: 59 iterations where 380 were due, 0 errors.
    const decayed = Array.from({ length: 20 }, (_, vu) => user(vu, vu < 3 ? 12 : 2 + (vu % 3)));
    const load = closed(decayed);
    expect(load.achieved.iterations).toBeLessThan(100);
    expect(load.shortfall).toBe(true);
    expect(load.warnings[0]).toMatch(/^achieved \d+ of 380 offered iterations \(\d+\.\d%\)/);
  });

  it('counts users whose loop broke, and users that never completed an iteration', () => {
    const load = closed([user(0, 19), user(1, 0, { stoppedEarly: true, requestMs: 0 })]);
    expect(load.stoppedEarly).toBe(1);
    expect(load.warnings).toContain('1 virtual user(s) stopped before the end of the run');
    expect(load.warnings).toContain('1 virtual user(s) completed no iteration although they should have');
  });

  it('leaves session set-up and Retry-After waits out of the offer; random think counts the mean', () => {
    const load = closed([user(0, 18, { setupMs: 1000 }), user(1, 10, { retryWaitMs: 9000 })]);
    expect(load.perUser.map((u) => u.offered)).toEqual([18, 10]);
    const random = closed([user(0, 19)], 500, 1500);
    // x = (20000 + 50) / 1050 = 19.095; a random phase loses half an iteration on average.
    expect(random.perUser[0]?.offered).toBeCloseTo(19.095 - 0.5, 2);
  });

  it('an --iterations budget caps the offer; without a duration the budget is the offer', () => {
    const capped = closedModelLoad({
      users: [user(0, 5)],
      thinkMinMs: 0,
      thinkMaxMs: 0,
      meanLatencyMs: 50,
      budget: 5,
      durationMs: 20_000,
      timed: true,
    });
    expect(capped.offered.iterations).toBe(5);
    const untimed = closedModelLoad({
      users: [user(0, 7)],
      thinkMinMs: 0,
      thinkMaxMs: 0,
      meanLatencyMs: 50,
      budget: 7,
      durationMs: 1000,
      timed: false,
    });
    expect(untimed.offered).toMatchObject({ iterations: 7, basis: '--iterations 7' });
    expect(untimed.perUser[0]?.offered).toBeNull();
  });

  it('gates on "achieved>95%" with the ratio the report states', () => {
    const report = sampleReport();
    const threshold = parseThreshold('achieved>95%');
    expect(threshold).toMatchObject({ metric: 'achieved', unit: 'ratio', value: 0.95 });
    expect(measure(report, threshold)).toBe(report.load.achievedRatio);
    expect(() => parseThreshold('achieved>95ms')).toThrow(/ratio/);
  });
});

describe('closed-model user stages', () => {
  it('parses the --ramp syntax counting users', () => {
    expect(parseUserStages('0-500:30s,hold:2m,500-0:10s')).toEqual([
      { from: 0, to: 500, durationMs: 30_000 },
      { from: 500, to: 500, durationMs: 120_000 },
      { from: 500, to: 0, durationMs: 10_000 },
    ]);
    expect(parseUserStages('20:1m')).toEqual([{ from: 20, to: 20, durationMs: 60_000 }]);
    expect(() => parseUserStages('0-200/s:30s')).toThrow(/number of users/);
    expect(() => parseUserStages('hold:10s')).toThrow(/needs a stage before it/);
    expect(() => parseUserStages('0-0:10s')).toThrow(/every stage is 0/);
  });

  it('starts user k when the level reaches k and stops the last-started first', () => {
    const stages = parseUserStages('0-10:10s,hold:5s,10-0:10s');
    expect(peakUsers(stages)).toBe(10);
    expect(activeWindows(stages, 1)).toEqual([{ startMs: 1000, endMs: 24_000 }]);
    expect(activeWindows(stages, 10)).toEqual([{ startMs: 10_000, endMs: 15_000 }]);
    expect(usersAt(stages, 5000)).toBe(5);
    expect(usersAt(stages, 12_000)).toBe(10);
    expect(usersAt(stages, 20_000)).toBe(5);
    // Down and up again: two windows.
    expect(activeWindows(parseUserStages('4:1s,0:1s,4:1s'), 2)).toEqual([
      { startMs: 0, endMs: 1000 },
      { startMs: 2000, endMs: 3000 },
    ]);
  });

  it('--ramp-up spreads --clients over the start of --duration', () => {
    expect(constantUsers(500, 60_000, 30_000)).toEqual([
      { from: 0, to: 500, durationMs: 30_000 },
      { from: 500, to: 500, durationMs: 30_000 },
    ]);
    const plan = resolveBenchPlan({ clients: 50, rampUp: 10_000, duration: 60_000 });
    expect(plan.options.model).toMatchObject({ kind: 'closed', clients: 50 });
    expect(plan.options.durationMs).toBe(60_000);
  });

  it('refuses combinations that make no sense, one line each', () => {
    expect(() => resolveBenchPlan({ stages: '0-5:1s', clients: 5 })).toThrow(/drop --clients/);
    expect(() => resolveBenchPlan({ stages: '0-5:1s', duration: 1000 })).toThrow(/drop --duration/);
    expect(() => resolveBenchPlan({ stages: '0-5:1s', rate: '5/s' })).toThrow(/--ramp ramps arrivals/);
    expect(() => resolveBenchPlan({ rampUp: 5000, duration: 5000 })).toThrow(/shorter than --duration/);
    expect(() => resolveBenchPlan({ rampUp: 5000, iterations: 10 })).toThrow(/needs --duration/);
    expect(() => resolveBenchPlan({ stages: '0-5:1s', scenario: 'raw', era: '2025' })).toThrow(/raw/);
  });
});

describe('run control', () => {
  it('never reports a wait as due before its time, whatever the timers round to', async () => {
    const control = new RunControl(Number.POSITIVE_INFINITY, undefined);
    for (let i = 0; i < 40; i++) {
      // Fractional waits: Node's millisecond timers fire up to ~2 ms before them.
      const at = control.clock() + 3.7 + (i % 5) * 0.31;
      expect(await control.sleepUntil(at)).toBe('due');
      expect(control.clock()).toBeGreaterThanOrEqual(at);
    }
  });

  it('says deadline or stopped when those come first', async () => {
    const control = new RunControl(20, undefined);
    expect(await control.sleepUntil(10_000)).toBe('deadline');
    expect(control.clock()).toBeGreaterThanOrEqual(20);
    const stoppable = new RunControl(Number.POSITIVE_INFINITY, undefined);
    const waiting = stoppable.sleepUntil(60_000);
    stoppable.stop();
    expect(await waiting).toBe('stopped');
  });
});
