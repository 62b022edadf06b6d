import { describe, expect, it } from 'vitest';
import { VuFactory } from '../../src/bench/load/vu-factory.js';
import { sliceSize } from '../../src/bench/load/user-stages.js';
import { resolveBenchPlan } from '../../src/bench/options.js';
import { checkProcs, resolveProcs, splitOptions } from '../../src/bench/procs/split-options.js';
import type { BenchOptions } from '../../src/bench/types.js';

const options = (flags: Parameters<typeof resolveBenchPlan>[0]): BenchOptions => ({
  ...resolveBenchPlan(flags).options,
  url: 'http://127.0.0.1:1/mcp',
});

function factory(mix: BenchOptions['mix'], slice?: { index: number; count: number }): VuFactory {
  const deps = {
    url: 'http://127.0.0.1:1/mcp',
    behaviour: { reinitOn404: true, sessionPerCall: false, honourRetryAfter: true },
    timeoutMs: 1000,
    headers: {},
    fetch: fetch,
    clock: () => 0,
    record: () => undefined,
    signal: new AbortController().signal,
  };
  return new VuFactory(mix, deps, 1, slice);
}

describe('--procs', () => {
  it('reads a number or auto (cores - 1), and refuses the rest in one line', () => {
    expect(resolveProcs(undefined)).toBe(1);
    expect(resolveProcs('3')).toBe(3);
    expect(resolveProcs('auto', 8)).toBe(7);
    expect(resolveProcs('auto', 1)).toBe(1);
    expect(() => resolveProcs('0')).toThrow(/use 1 to 64/);
    expect(() => resolveProcs('two')).toThrow(/invalid --procs 'two'/);
    expect(() => checkProcs(2, 'failover', false)).toThrow(/failover scenario .* --procs 1/);
    expect(() => checkProcs(2, 'ratelimit', false)).toThrow(/ratelimit/);
    expect(() => checkProcs(2, 'mixed', true)).toThrow(/--find-capacity/);
    expect(() => resolveBenchPlan({ scenario: 'raw', era: '2025', procs: '2' })).toThrow(/autocannon/);
    expect(resolveBenchPlan({ procs: '2' }).options.procs).toBe(2);
  });

  it('gives process p the global users p, p+N, …: the same users, eras and numbers as one process', () => {
    const mix = { '2025': 70, '2026': 30 } as const;
    const single = factory(mix);
    const one = Array.from({ length: 10 }, () => single.create());
    const parts = [0, 1, 2].map((index) => factory(mix, { index, count: 3 }));
    const split = parts.flatMap((part, index) =>
      Array.from({ length: sliceSize(10, { index, count: 3 }) }, () => part.create()),
    );
    const key = (vu: { index: number; era: string }) => `${vu.index}:${vu.era}`;
    expect(split.map(key).sort()).toEqual(one.map(key).sort());
    expect(sliceSize(10, { index: 0, count: 3 })).toBe(4);
    expect(sliceSize(10, { index: 2, count: 3 })).toBe(3);
  });

  it('splits an iteration budget exactly and an arrival rate evenly', () => {
    const closed = splitOptions(options({ clients: 5, iterations: 41, procs: '3' }), 3);
    expect(closed.map((p) => p.iterations)).toEqual([14, 14, 13]);
    expect(closed.map((p) => p.userSlice)).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    const open = splitOptions(options({ ramp: '0-90/s:10s', maxClients: 100, procs: '2' }), 2);
    for (const part of open) {
      if (part.model.kind !== 'open') throw new Error('open model expected');
      expect(part.model.stages).toEqual([{ fromPerSecond: 0, toPerSecond: 45, durationMs: 10_000 }]);
      expect(part.model.maxClients).toBe(50);
    }
  });
});
