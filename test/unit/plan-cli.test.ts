import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** Runs `mcp-scale ...` in process through the real commander program and error handler. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    process.exitCode = undefined;
    await main(['node', 'mcp-scale', ...args]);
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-cli-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.exitCode = undefined;
});

describe('mcp-scale plan (CLI)', () => {
  it('prints the recommendation, the reasoning line by line and the commands', async () => {
    const { stdout, stderr, exitCode } = await run('plan', '--users', '250');
    expect(exitCode).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Plan for 250 concurrent users, 10\/1m calls each \(41\.67 calls\/s\)/);
    expect(stdout).toContain('rules of thumb');
    expect(stdout).toMatch(/\nRecommendation\n {2}workers {7}6\n/);
    expect(stdout).toMatch(/\nReasoning\n {2}\[input\] +demand = 250 users x 10\/1m = 41\.67 calls\/s/);
    expect(stdout).toContain('[rule of thumb]');
    expect(stdout).toContain(
      '  mcp-scale gen compose --out deploy/compose --instances 6 --gateways 2 --affinity gateway --redis ha --rate-limit 30/1m --ip-rate-limit 300/1m\n',
    );
    expect(stdout).toContain(
      '  mcp-scale serve --instances 6 --gateways 2 --redis ha --lb nginx --affinity gateway --rate-limit 30/1m --ip-rate-limit 300/1m\n',
    );
  });

  it('--json prints the whole plan as one JSON document', async () => {
    const { stdout, exitCode } = await run('plan', '--users', '1001', '--calls-per-user', '20/1m', '--json');
    expect(exitCode).toBe(0);
    const plan = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(plan).sort()).toEqual(
      ['basis', 'commands', 'inputs', 'reasoning', 'recommendation', 'schemaVersion'].sort(),
    );
    expect(plan).toMatchObject({
      schemaVersion: 1,
      inputs: { users: 1001, callsPerUser: '20/1m', p99TargetMs: 250 },
      basis: { kind: 'rules-of-thumb', band: { id: 'large', minUsers: 1001, maxUsers: null } },
      recommendation: {
        workers: 11,
        platform: 'kubernetes',
        redis: 'cluster',
        rateLimit: '60/1m',
        autoscaling: { minReplicas: 11, maxReplicas: 22, cpuTargetPercent: 70 },
      },
    });
    const inputs = plan.inputs as { demandCallsPerSecond: number };
    expect(inputs.demandCallsPerSecond).toBeCloseTo((1001 * 20) / 60, 9);
    const reasoning = plan.reasoning as { source: string; text: string }[];
    expect(reasoning.length).toBeGreaterThan(5);
    for (const line of reasoning) expect(typeof line.text).toBe('string');
    const commands = plan.commands as { argv: string[]; line: string; purpose: string }[];
    expect(commands[0]?.argv.slice(0, 3)).toEqual(['mcp-scale', 'gen', 'k8s']);
  });

  it('--from-report uses the measured capacity and --p99', async () => {
    const file = path.join(dir, 'bench.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        schemaVersion: 1,
        capacity: {
          p99TargetMs: 250,
          callsPerSecond: 200,
          workers: 2,
          callsPerSecondPerWorker: 100,
          steps: [
            { rate: 100, p99Ms: 60 },
            { rate: 200, p99Ms: 240 },
            { rate: 300, p99Ms: 900 },
          ],
        },
      }),
    );
    const { stdout, exitCode } = await run(
      'plan',
      '--users',
      '300',
      '--p99',
      '250ms',
      '--from-report',
      file,
      '--json',
    );
    expect(exitCode).toBe(0);
    const plan = JSON.parse(stdout) as { recommendation: { workers: number }; basis: { kind: string } };
    // 300 users x 10/min = 50 calls/s; 100 per worker at 70% = 70 -> 1, raised to 2 for availability.
    expect(plan.basis.kind).toBe('measured');
    expect(plan.recommendation.workers).toBe(2);

    const human = await run('plan', '--users', '3000', '--p99', '100ms', '--from-report', file);
    expect(human.exitCode).toBe(0);
    // At 100 ms only the 100 calls/s step passed: 50 per worker, 500 calls/s / 35 = 14.3 -> 15.
    expect(human.stdout).toContain('Basis: measured, 50 calls/s per worker at p99 <= 100 ms');
    expect(human.stdout).toMatch(/\n {2}workers {7}15\n/);
    expect(human.stdout).toContain('[report]');
    expect(human.stdout).toMatch(/searched for capacity at p99 <= 250 ms but you asked for 100 ms/);
  });

  it.each([
    [['--users', '-5'], /argument '-5' is invalid/],
    [['--users', '0'], /argument '0' is invalid/],
    [['--users', 'many'], /argument 'many' is invalid/],
    [[], /required option '--users <n>' not specified/],
    [['--users', '10', '--calls-per-user', 'lots'], /invalid rate 'lots'/],
    [['--users', '10', '--p99', '0'], /--p99 must be longer than 0/],
    [
      ['--users', '10', '--from-report', '/nonexistent/bench.json'],
      /cannot read report \/nonexistent\/bench\.json: ENOENT/,
    ],
  ])('plan %j: one line on stderr, exit 2', async (args, message) => {
    const { stdout, stderr, exitCode } = await run('plan', ...args);
    expect(exitCode).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a file that is not a capacity report: one line, exit 2', async () => {
    const file = path.join(dir, 'other.json');
    fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, latency: { p99: 12 } }));
    const { stderr, exitCode } = await run('plan', '--users', '10', '--from-report', file);
    expect(exitCode).toBe(2);
    expect(stderr).toBe(
      `mcp-scale: ${file} is not a bench --find-capacity report: no "capacity" section (run bench with --find-capacity)\n`,
    );
  });

  it('--help shows examples', async () => {
    const { stdout, exitCode } = await run('plan', '--help');
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('mcp-scale plan --users 5000 --p99 250ms --from-report bench.json');
  });
});
