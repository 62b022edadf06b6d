import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import type { SettingInputs } from '../../src/config/settings/types.js';
import { settingInputs } from '../../src/cli/setting-options.js';
import { parseRate } from '../../src/config/rate.js';
import { parseCapacityReport, planTopology, type Plan, type PlanCommand } from '../../src/plan/index.js';
import { connectV1 } from '../helpers/clients.js';
import { CLI, expectAllGone, scratchDir, startServe } from '../helpers/cluster.js';

/**
 * "The commands a plan prints run": every `gen` command of plans in each band
 * (and of report-driven plans) runs for real with --check (nginx -t, compose
 * and Kubernetes schemas, the Dockerfile dry run), only --out moved into a
 * temp folder. Every `serve` command parses and resolves its config, and the
 * two that differ most are started for real.
 */

const TEN_PER_MINUTE = { points: 10, durationMs: 60_000 };

/** A `bench --find-capacity` report: 120 calls/s per worker at p99 <= 250 ms. */
const REPORT = parseCapacityReport(
  {
    schemaVersion: 1,
    capacity: {
      p99TargetMs: 250,
      callsPerSecond: 360,
      workers: 3,
      callsPerSecondPerWorker: 120,
      steps: [
        { rate: 240, p99Ms: 95 },
        { rate: 360, p99Ms: 230 },
        { rate: 480, p99Ms: 610 },
      ],
    },
  },
  'bench.json',
);
/** A slow server (20 calls/s per worker): a medium-band plan that needs Kubernetes. */
const SLOW_REPORT = parseCapacityReport(
  { schemaVersion: 1, capacity: { p99TargetMs: 250, callsPerSecond: 60, workers: 3, steps: [] } },
  'slow.json',
);

const PLANS: Record<string, Plan> = {
  '1 user (one instance, memory mode)': planTopology({ users: 1, callsPerUser: TEN_PER_MINUTE }),
  '10 users (compose, one Redis)': planTopology({ users: 10, callsPerUser: TEN_PER_MINUTE }),
  '101 users (gateways behind nginx)': planTopology({ users: 101, callsPerUser: TEN_PER_MINUTE }),
  '1001 users (Kubernetes, Redis Cluster)': planTopology({ users: 1001, callsPerUser: TEN_PER_MINUTE }),
  '20000 users (flags at their limits)': planTopology({ users: 20_000, callsPerUser: TEN_PER_MINUTE }),
  'measured, 50 users': planTopology({
    users: 50,
    callsPerUser: TEN_PER_MINUTE,
    report: REPORT,
    reportFile: 'bench.json',
  }),
  'measured, 2400 users at p99 100ms': planTopology({
    users: 2400,
    callsPerUser: { points: 12, durationMs: 60_000 },
    p99TargetMs: 100,
    report: REPORT,
    reportFile: 'bench.json',
  }),
  'measured, 800 users at 60/1m on a slow server': planTopology({
    users: 800,
    callsPerUser: { points: 60, durationMs: 60_000 },
    report: SLOW_REPORT,
    reportFile: 'slow.json',
  }),
};

interface CommandCase {
  label: string;
  command: PlanCommand;
}

function commandsNamed(name: 'gen' | 'serve'): CommandCase[] {
  const seen = new Set<string>();
  const cases: CommandCase[] = [];
  for (const [plan, { commands }] of Object.entries(PLANS)) {
    for (const command of commands) {
      if (command.argv[1] !== name || seen.has(command.line)) continue;
      seen.add(command.line);
      cases.push({ label: `${plan}: ${command.line}`, command });
    }
  }
  return cases;
}

function flagValue(argv: string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index < 0 ? undefined : argv[index + 1];
}

function withFlag(argv: string[], flag: string, value: string): string[] {
  const index = argv.indexOf(flag);
  expect(index, `${argv.join(' ')} has ${flag}`).toBeGreaterThan(0);
  return argv.map((arg, i) => (i === index + 1 ? value : arg));
}

function runCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('plan: every printed gen command renders and passes --check', () => {
  let project: string;
  beforeAll(() => {
    // A user runs the plan's commands in their project: gen's Dockerfile builds from the
    // folder it runs in (--context .), a project that depends on mcp-scale and has a lockfile.
    project = scratchDir('mcp-scale-plan-project-');
    const pkg = { name: 'my-mcp-app', version: '1.0.0', dependencies: { 'mcp-scale': '^0.1.0' } };
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(pkg, null, 2));
    fs.writeFileSync(
      path.join(project, 'package-lock.json'),
      JSON.stringify({ ...pkg, lockfileVersion: 3, requires: true, packages: { '': pkg } }, null, 2),
    );
  });
  afterAll(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  const cases = commandsNamed('gen');
  it('covers every gen target a plan uses', () => {
    const targets = new Set(cases.map(({ command }) => command.argv[2]));
    expect(targets).toEqual(new Set(['docker', 'compose', 'nginx', 'k8s']));
  });

  it.each(cases)('$label', async ({ command }) => {
    const out = path.join(project, `out-${cases.findIndex((entry) => entry.command === command)}`);
    const args = [...withFlag(command.argv, '--out', out).slice(1), '--check'];
    const result = await runCli(args, project);
    expect(result.code, `${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^ok {3}/m);
    expect(result.stdout).not.toMatch(/^FAIL/m);
    expect(fs.readdirSync(out).length).toBeGreaterThan(0);
  });
});

describe('plan: every printed serve command parses and resolves its config', () => {
  it.each(commandsNamed('serve'))('$label', async ({ command }) => {
    let flags: SettingInputs | undefined;
    const program = buildProgram();
    const serve = program.commands.find((sub) => sub.name() === 'serve');
    serve?.action((parsed: object) => {
      flags = settingInputs(parsed, 'serve');
    });
    await program.parseAsync(['node', 'mcp-scale', ...command.argv.slice(1)]);
    expect(flags, 'the serve action ran').toBeDefined();
    const config = resolveClusterConfig({ command: 'serve', flags, env: {} });
    const argv = command.argv;
    expect(config.instances).toBe(Number(flagValue(argv, '--instances')));
    expect(config.gateways).toBe(Number(flagValue(argv, '--gateways') ?? 1));
    expect(config.redis).toBe(flagValue(argv, '--redis'));
    expect(config.affinity).toBe(flagValue(argv, '--affinity'));
    expect(config.lb).toBe(flagValue(argv, '--lb'));
    expect(config.limits.rateLimit).toEqual(parseRate(flagValue(argv, '--rate-limit') ?? ''));
    const ipLimit = flagValue(argv, '--ip-rate-limit');
    expect(config.limits.ipRateLimit).toEqual(ipLimit === undefined ? undefined : parseRate(ipLimit));
  });
});

/** Workers started per cluster: enough to see the count wired through, few enough for a 2-core machine. */
const MAX_STARTED_WORKERS = 3;

describe('plan: the serve commands that differ most start for real', () => {
  const started = [
    // --redis memory, no load balancer, 1 worker (started as printed).
    { plan: '1 user (one instance, memory mode)', redisMode: 'memory' },
    // --redis ha (the medium band recommends a replicated Redis: a private primary, replica and
    // 3 sentinels), --lb nginx, a per-IP limit; 5 workers, started with 3 (only the --instances
    // wiring is checked, not 5 processes on 2 cores).
    { plan: '101 users (gateways behind nginx)', redisMode: 'ha' },
  ];

  it.each(started)('$plan', async ({ plan, redisMode }) => {
    const command = PLANS[plan]?.commands.find((entry) => entry.argv[1] === 'serve');
    expect(command, `${plan} prints a serve command`).toBeDefined();
    const argv = command?.argv ?? [];
    const planned = Number(flagValue(argv, '--instances'));
    const instances = Math.min(planned, MAX_STARTED_WORKERS);
    const lb = flagValue(argv, '--lb');
    const cluster = await startServe(withFlag(argv, '--instances', String(instances)).slice(2), {
      REDIS_URL: '',
    });
    const pids = [
      ...cluster.info.gateways.map((gateway) => gateway.pid),
      ...cluster.info.instances.map((worker) => worker.pid),
    ];
    if (cluster.info.lb) pids.push(cluster.info.lb.pid);
    try {
      expect(cluster.info.instances).toHaveLength(instances);
      expect(cluster.info.redis.mode).toBe(redisMode);
      expect(cluster.info.lb?.kind).toBe(lb);
      expect(cluster.info.gateways).toHaveLength(Number(flagValue(argv, '--gateways') ?? 1));
      expect(cluster.info.sessions).toBe('stateful');
      const client = await connectV1(cluster.url);
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('get_product');
      await client.close();
    } finally {
      expect(await cluster.stop()).toBe(0);
      fs.rmSync(cluster.home, { recursive: true, force: true });
    }
    expect(await expectAllGone(pids)).toEqual([]);
  });
});
