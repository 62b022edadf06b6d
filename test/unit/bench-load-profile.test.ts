import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import {
  ArrivalSchedule,
  constantStages,
  parsePerSecond,
  parseRamp,
  peakPerSecond,
  rateAt,
  totalDurationMs,
} from '../../src/bench/load-profile.js';

function arrivals(schedule: ArrivalSchedule): number[] {
  const times: number[] = [];
  for (let k = 0; ; k++) {
    const t = schedule.timeOf(k);
    if (t === undefined) return times;
    times.push(t);
  }
}

describe('arrival rates', () => {
  it.each([
    ['200/s', 200],
    ['600/1m', 10],
    ['50/10s', 5],
    ['3600/h', 1],
    ['0.5/s', 0.5],
  ])('reads %s as %d per second', (text, perSecond) => {
    expect(parsePerSecond(text)).toBeCloseTo(perSecond, 9);
  });

  it('rejects a rate without a unit', () => {
    expect(() => parsePerSecond('200')).toThrow(UserError);
  });
});

describe('--ramp', () => {
  it('reads ramps, constants and holds', () => {
    const stages = parseRamp('0-200/s:30s,hold:60s,50/s:10s');
    expect(stages).toEqual([
      { fromPerSecond: 0, toPerSecond: 200, durationMs: 30_000 },
      { fromPerSecond: 200, toPerSecond: 200, durationMs: 60_000 },
      { fromPerSecond: 50, toPerSecond: 50, durationMs: 10_000 },
    ]);
    expect(totalDurationMs(stages)).toBe(100_000);
    expect(peakPerSecond(stages)).toBe(200);
    expect(rateAt(stages, 15_000)).toBeCloseTo(100, 9);
    expect(rateAt(stages, 95_000)).toBe(50);
    expect(rateAt(stages, 200_000)).toBe(0);
  });

  it.each([['hold:10s'], ['0-100/s'], ['0-100/s:0s'], ['fast:10s'], ['0/s:10s']])('rejects %s', (text) => {
    expect(() => parseRamp(text)).toThrow(UserError);
  });
});

describe('arrival schedule', () => {
  it('spaces a constant rate evenly', () => {
    const times = arrivals(new ArrivalSchedule(constantStages(10, 1000)));
    expect(times).toHaveLength(10);
    times.forEach((t, k) => expect(t).toBeCloseTo(k * 100, 6));
  });

  it('follows a linear ramp: the integral of the rate reaches k at arrival k', () => {
    // 0 -> 100/s over 2 s: N(t) = 25 t^2, so 100 arrivals, arrival k at sqrt(k/25) s.
    const schedule = new ArrivalSchedule([{ fromPerSecond: 0, toPerSecond: 100, durationMs: 2000 }]);
    const times = arrivals(schedule);
    expect(schedule.totalArrivals).toBe(100);
    expect(times).toHaveLength(100);
    for (const k of [1, 4, 25, 81]) expect(times[k]).toBeCloseTo(Math.sqrt(k / 25) * 1000, 6);
    for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThan(times[k - 1] ?? 0);
  });

  it('ramps down and chains stages without losing or doubling arrivals', () => {
    const stages = parseRamp('100-0/s:1s,20/s:1s');
    const schedule = new ArrivalSchedule(stages);
    const times = arrivals(schedule);
    expect(schedule.totalArrivals).toBe(70);
    expect(times).toHaveLength(70);
    expect(times.filter((t) => t < 1000)).toHaveLength(50);
    expect(times.every((t) => t < 2000)).toBe(true);
  });
});
