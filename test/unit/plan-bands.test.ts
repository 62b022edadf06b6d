import { describe, expect, it } from 'vitest';
import { planTopology, type Plan } from '../../src/plan/index.js';

const TEN_PER_MINUTE = { points: 10, durationMs: 60_000 };
const plan = (users: number): Plan => planTopology({ users, callsPerUser: TEN_PER_MINUTE });

/** The flags the other commands accept (issue 9); a plan must never print any other. */
const SERVE_FLAGS = new Set([
  '--instances',
  '--gateways',
  '--port',
  '--redis',
  '--rate-limit',
  '--ip-rate-limit',
  '--tool-limit',
  '--cache-ttl',
  '--session-ttl',
  '--sessions',
  '--lb',
  '--affinity',
]);
const GEN_FLAGS = new Set([
  '--out',
  '--instances',
  '--gateways',
  '--affinity',
  '--redis',
  '--min-replicas',
  '--max-replicas',
  '--cpu-target',
  '--check',
  '--rate-limit',
  '--ip-rate-limit',
]);
const GEN_TARGETS = new Set(['nginx', 'haproxy', 'docker', 'compose', 'k8s', 'all']);

function flagValue(argv: string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index < 0 ? undefined : argv[index + 1];
}

function commandsOf(result: Plan, name: 'serve' | 'gen'): string[][] {
  return result.commands.map((command) => command.argv).filter((argv) => argv[1] === name);
}

describe('plan without a report: the rule-of-thumb bands at their boundaries', () => {
  // Expected values come from the guide's bands and the documented formula
  // (docs/plan.md), worked out by hand:
  //   10-100:   2 + round(1 x (users - 10) / 90)
  //   101-1000: 5 + round(5 x (users - 101) / 899)
  //   over 1000: ceil(users / 100)
  it.each([
    // users, band,   workers, gateways, redis,        platform,     lb
    [1, 'single', 1, 1, 'none', 'processes', 'none'],
    [9, 'single', 1, 1, 'none', 'processes', 'none'],
    [10, 'small', 2, 1, 'single', 'compose', 'none'],
    [54, 'small', 2, 1, 'single', 'compose', 'none'],
    [55, 'small', 3, 1, 'single', 'compose', 'none'],
    [100, 'small', 3, 1, 'single', 'compose', 'none'],
    [101, 'medium', 5, 2, 'replicated', 'compose', 'nginx'],
    [550, 'medium', 7, 2, 'replicated', 'compose', 'nginx'],
    [1000, 'medium', 10, 3, 'replicated', 'compose', 'nginx'],
    [1001, 'large', 11, 3, 'cluster', 'kubernetes', 'kubernetes-service'],
    [5000, 'large', 50, 13, 'cluster', 'kubernetes', 'kubernetes-service'],
  ] as const)(
    '%i users: band %s, %i workers, %i gateways, Redis %s, %s',
    (users, band, workers, gateways, redis, platform, lb) => {
      const result = plan(users);
      expect(result.basis.kind).toBe('rules-of-thumb');
      if (result.basis.kind !== 'rules-of-thumb') return;
      expect(result.basis.band.id).toBe(band);
      expect(result.recommendation).toMatchObject({ workers, gateways, redis, platform, loadBalancer: lb });
      expect(result.recommendation.affinity).toBe('gateway');
      expect(result.recommendation.rateLimit).toBe('30/1m');
    },
  );

  it('says plainly that the bands are rules of thumb', () => {
    const text = plan(42)
      .reasoning.map((line) => line.text)
      .join('\n');
    expect(text).toMatch(/rules of thumb, not measurements/);
    expect(plan(42).reasoning.some((line) => line.source === 'rule of thumb')).toBe(true);
  });

  it('shows the interpolation with its numbers', () => {
    const result = plan(550);
    if (result.basis.kind !== 'rules-of-thumb') throw new Error('expected rules of thumb');
    expect(result.basis.workersFormula).toBe('5 + round(5 x (550 - 101) / (1000 - 101)) = 7');
  });

  it('below 10 users: one instance, in-memory state, no load balancer', () => {
    const result = plan(9);
    expect(commandsOf(result, 'gen').map((argv) => argv[2])).toEqual(['docker']);
    const [serve] = commandsOf(result, 'serve');
    expect(flagValue(serve ?? [], '--instances')).toBe('1');
    expect(flagValue(serve ?? [], '--redis')).toBe('memory');
    expect(serve).not.toContain('--lb');
    expect(result.recommendation.cache.recommended).toBe(false);
    expect(result.recommendation.autoscaling).toBeUndefined();
  });

  it('10-100 users: a few workers sharing one Redis, no proxy in front of the gateway', () => {
    const result = plan(10);
    expect(commandsOf(result, 'gen').map((argv) => argv[2])).toEqual(['compose']);
    const [serve] = commandsOf(result, 'serve');
    expect(flagValue(serve ?? [], '--instances')).toBe('2');
    expect(flagValue(serve ?? [], '--redis')).toBe('auto');
    expect(result.recommendation.ipRateLimit).toBeUndefined();
  });

  it('101-1000 users: gateways behind nginx, a per-IP limit and the tool cache', () => {
    const result = plan(101);
    expect(commandsOf(result, 'gen').map((argv) => argv[2])).toEqual(['compose', 'nginx']);
    const [serve] = commandsOf(result, 'serve');
    expect(flagValue(serve ?? [], '--lb')).toBe('nginx');
    expect(flagValue(serve ?? [], '--ip-rate-limit')).toBe('300/1m');
    for (const argv of commandsOf(result, 'gen')) expect(flagValue(argv, '--gateways')).toBe('2');
    // serve runs the same two gateways, behind the same balancer.
    expect(flagValue(serve ?? [], '--gateways')).toBe('2');
    expect(result.reasoning.some((line) => /serve runs one gateway/.test(line.text))).toBe(false);
    expect(result.recommendation.cache.recommended).toBe(true);
    expect(result.recommendation.cache.ttls.length).toBeGreaterThan(0);
  });

  it('over 1000 users: Kubernetes manifests with HPA bounds and a Redis Cluster URL', () => {
    const result = plan(1001);
    expect(result.recommendation.autoscaling).toEqual({
      minReplicas: 11,
      maxReplicas: 22,
      cpuTargetPercent: 70,
    });
    const [k8s] = commandsOf(result, 'gen');
    expect(k8s?.[2]).toBe('k8s');
    expect(flagValue(k8s ?? [], '--min-replicas')).toBe('11');
    expect(flagValue(k8s ?? [], '--max-replicas')).toBe('22');
    expect(flagValue(k8s ?? [], '--cpu-target')).toBe('70');
    expect(flagValue(k8s ?? [], '--redis')).toMatch(/^redis-cluster:\/\//);
  });

  it('keeps --instances within 1-64 for very large plans and says so', () => {
    const result = plan(20_000);
    expect(result.recommendation.workers).toBe(200);
    for (const command of result.commands) {
      const instances = Number(flagValue(command.argv, '--instances'));
      expect(instances).toBeGreaterThanOrEqual(1);
      expect(instances).toBeLessThanOrEqual(64);
    }
    expect(result.reasoning.some((line) => /--instances stops at 64/.test(line.text))).toBe(true);
  });

  it('keeps gen --gateways within 1-16 and says how to reach the planned number', () => {
    const result = plan(20_000);
    expect(result.recommendation.gateways).toBe(50);
    const [k8s] = commandsOf(result, 'gen');
    expect(flagValue(k8s ?? [], '--gateways')).toBe('16');
    expect(
      result.reasoning.some((line) =>
        /--gateways stops at 16.*kubectl scale deployment mcp-scale-gateway --replicas 50/.test(line.text),
      ),
    ).toBe(true);
    expect(plan(5000).reasoning.some((line) => /--gateways stops/.test(line.text))).toBe(false);
  });

  it.each([1, 9, 10, 100, 101, 1000, 1001, 20_000])('%i users: only flags serve and gen accept', (users) => {
    const result = plan(users);
    expect(result.commands.length).toBeGreaterThanOrEqual(2);
    for (const { argv, line } of result.commands) {
      expect(line).toBe(argv.join(' '));
      const [program, name, ...rest] = argv;
      expect(program).toBe('mcp-scale');
      if (name === 'gen') expect(GEN_TARGETS.has(rest.shift() ?? '')).toBe(true);
      const allowed = name === 'gen' ? GEN_FLAGS : SERVE_FLAGS;
      expect(['gen', 'serve']).toContain(name);
      const flags = rest.filter((arg) => arg.startsWith('--'));
      for (const flag of flags) expect(allowed.has(flag), `${name} ${flag}`).toBe(true);
      // Every flag here takes a value: flags and values alternate.
      expect(flags.length * 2).toBe(rest.length);
    }
  });

  it('rejects users below 1 with a one-line UserError', () => {
    for (const users of [0, -5, 2.5]) {
      expect(() => plan(users)).toThrow(expect.objectContaining({ name: 'UserError', exitCode: 2 }));
    }
  });
});
