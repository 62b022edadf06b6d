import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { nextEra } from '../../src/bench/load/vu-factory.js';
import { createScenario } from '../../src/bench/scenarios/index.js';
import { parseMix, parseThink, resolveBenchPlan, type BenchFlags } from '../../src/bench/options.js';
import type { Era } from '../../src/bench/types.js';

describe('bench flags -> plan', () => {
  it('defaults to the mixed scenario, 10 closed-model clients for 10 s, half of each era', () => {
    const plan = resolveBenchPlan({});
    expect(plan.options).toMatchObject({
      scenario: 'mixed',
      model: { kind: 'closed', clients: 10, thinkMinMs: 0, thinkMaxMs: 0 },
      mix: { '2025': 50, '2026': 50 },
      durationMs: 10_000,
      timeoutMs: 30_000,
      behaviour: { reinitOn404: true, sessionPerCall: false, honourRetryAfter: true },
      seed: 1,
    });
    expect(plan.thresholds).toEqual([]);
    expect(plan.spawn).toBe(false);
  });

  it.each<[BenchFlags, object]>([
    [{ rate: '200/s', duration: 5000 }, { model: { kind: 'open', maxClients: 100, preAllocate: 10 } }],
    [{ ramp: '0-50/s:2s', maxClients: 4 }, { model: { kind: 'open', maxClients: 4, preAllocate: 4 } }],
    [
      { clients: 3, think: '50ms-150ms' },
      { model: { kind: 'closed', clients: 3, thinkMinMs: 50, thinkMaxMs: 150 } },
    ],
    [{ iterations: 5 }, { iterations: 5 }],
    [{ scenario: 'affinity' }, { mix: { '2025': 100, '2026': 0 } }],
    [
      { scenario: 'raw', clients: 4 },
      { mix: { '2025': 100, '2026': 0 }, model: { kind: 'closed', clients: 4 } },
    ],
    [{ scenario: 'raw', clients: 4, rate: '10/s' }, { model: { kind: 'open', maxClients: 4 } }],
    [{ era: '2026' }, { mix: { '2025': 0, '2026': 100 } }],
    [{ mix: '2025=70,2026=30' }, { mix: { '2025': 70, '2026': 30 } }],
    [
      { ignoreRetryAfter: true, sessionPerCall: true, reinitOn404: false },
      { behaviour: { reinitOn404: false, sessionPerCall: true, honourRetryAfter: false } },
    ],
    [{ header: ['Authorization: Bearer x'] }, { headers: { authorization: 'Bearer x' } }],
    [
      { tool: 'get_product', args: '{"id":"1"}' },
      { tool: 'get_product', toolArgs: { id: '1' } },
    ],
  ])('%o', (flags, expected) => {
    expect(resolveBenchPlan(flags).options).toMatchObject(expected);
  });

  it('the open model with --iterations has no duration of its own', () => {
    expect(resolveBenchPlan({ iterations: 5 }).options.durationMs).toBeUndefined();
    expect(resolveBenchPlan({ rate: '5/s' }).options.durationMs).toBeUndefined();
  });

  it('plans find-capacity with sensible defaults', () => {
    const plan = resolveBenchPlan({ findCapacity: true, p99: 250 });
    expect(plan.capacity).toEqual({
      p99TargetMs: 250,
      startPerSecond: 10,
      maxPerSecond: 10_000,
      stepMs: 10_000,
      factor: 1.5,
    });
    expect(plan.options.model.kind).toBe('open');
  });

  it.each<[BenchFlags, string]>([
    [{ rate: '1/s', ramp: '0-1/s:1s' }, 'either --rate or --ramp'],
    [{ rate: '1/s', clients: 3 }, '--clients is the closed model'],
    [{ rate: '1/s', think: '10ms' }, '--think is for the closed model'],
    [{ ramp: '0-1/s:1s', duration: 1000 }, '--ramp sets its own length'],
    [{ maxClients: 3 }, '--max-clients goes with --rate'],
    [{ mix: '2025=70,2026=20' }, 'must add up to 100'],
    [{ mix: '2025=50,2026=50', era: '2025' }, 'drop --era'],
    [{ scenario: 'raw', era: '2026' }, 'raw drives 2025 sessions'],
    [{ scenario: 'failover' }, 'needs --spawn or --ready-file'],
    [{ spawn: true, readyFile: 'x' }, 'either --spawn or --ready-file'],
    [{ spawn: true, url: 'http://x/mcp' }, 'drop the URL'],
    [{ url: 'ftp://x' }, 'only http and https'],
    [{ expectLimit: { points: 1, durationMs: 1000 } }, '--expect-limit goes with --scenario ratelimit'],
    [{ killAt: 1000 }, 'go with --scenario failover'],
    [{ findCapacity: true }, 'needs --p99'],
    [{ p99: 100 }, 'go with --find-capacity'],
    [{ findCapacity: true, p99: 100, rate: '1/s' }, 'chooses the rates itself'],
    [{ header: ['nocolon'] }, "use 'Name: value'"],
    [{ args: '[1]' }, 'use a JSON object'],
    [{ threshold: ['p99<>1'] }, 'invalid --threshold'],
    [{ scenario: 'script' }, 'needs --script FILE'],
  ])('%o is a one-line usage error', (flags, message) => {
    const attempt = () => resolveBenchPlan(flags);
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(message);
  });
});

describe('scenario preconditions', () => {
  const options = (flags: BenchFlags) => ({
    ...resolveBenchPlan(flags).options,
    url: 'http://127.0.0.1:1/mcp',
  });

  it('rejects affinity without 2025 clients, failover without a local cluster of two', () => {
    expect(() => createScenario(options({ scenario: 'affinity', era: '2026' }), { url: 'x' })).toThrow(
      'needs 2025-era clients',
    );
    const failover = options({ scenario: 'failover', readyFile: 'ready.json' });
    const one = { url: 'http://127.0.0.1:1/mcp', instances: [{ id: 'w1', pid: 1, port: 1 }] };
    expect(() => createScenario(failover, { url: one.url, readyInfo: one })).toThrow('at least 2 workers');
    const remote = {
      url: 'http://10.1.2.3/mcp',
      instances: [...one.instances, { id: 'w2', pid: 2, port: 2 }],
    };
    expect(() => createScenario(failover, { url: remote.url, readyInfo: remote })).toThrow(
      'only kills local processes',
    );
  });
});

describe('small parsers', () => {
  it('reads mixes and think times', () => {
    expect(parseMix('2026=25,2025=75')).toEqual({ '2025': 75, '2026': 25 });
    expect(parseMix('2025=100')).toEqual({ '2025': 100, '2026': 0 });
    expect(parseThink('100ms')).toEqual([100, 100]);
    expect(parseThink('1s-2s')).toEqual([1000, 2000]);
    expect(() => parseThink('2s-1s')).toThrow(UserError);
    expect(() => parseMix('2024=100')).toThrow(UserError);
  });

  it('assigns eras to users so every prefix is as close to the mix as whole users allow', () => {
    const mix: Record<Era, number> = { '2025': 70, '2026': 30 };
    const assigned: Record<Era, number> = { '2025': 0, '2026': 0 };
    for (let created = 0; created < 100; created++) {
      assigned[nextEra(mix, assigned, created)] += 1;
      expect(Math.abs(assigned['2026'] - ((created + 1) * 30) / 100)).toBeLessThanOrEqual(1);
      if ((created + 1) % 10 === 0) expect(assigned['2026']).toBe(((created + 1) * 3) / 10);
    }
  });
});
