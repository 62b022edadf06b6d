import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BenchReport } from '../../src/bench/report-schema.js';
import { runBenchCommand } from '../../src/bench/run-command.js';
import type { SpawnRequest } from '../../src/bench/spawn.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { runCliCaptured } from '../helpers/cli-capture.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/** `mcp-scale bench` through the real CLI entry: outputs, exit codes, one-line errors. */
let server: BenchServer;
let dir: string;

beforeAll(async () => {
  server = await startBenchServer({ sdk: 'v2', instanceId: 'cli' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-bench-cli-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const cli = (...args: string[]) => runCliCaptured('bench', ...args);

const quick = () => [server.url, '--era', '2026', '--clients', '2', '--iterations', '20'];

describe('mcp-scale bench (CLI)', () => {
  it('--json prints a schema-valid report and exits 0 when every threshold holds', async () => {
    const run = await cli(...quick(), '--json', '--threshold', 'errors==0', '--threshold', 'iterations==20');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.thresholds.map((t) => [t.expression, t.actual, t.passed])).toEqual([
      ['errors==0', 0, true],
      ['iterations==20', 20, true],
    ]);
  });

  it('a failed threshold exits 99 with one line per failure, after writing --out and --html', async () => {
    const out = path.join(dir, 'report.json');
    const html = path.join(dir, 'report.html');
    const run = await cli(
      ...quick(),
      '--threshold',
      'p99<0.001ms',
      '--threshold',
      'sessions_lost==0',
      '--out',
      out,
      '--html',
      html,
    );
    expect(run.code).toBe(99);
    const failures = run.stderr.trim().split('\n');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^threshold failed: p99<0\.001ms: actual \d+(\.\d+)?ms$/);
    const written = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchReport;
    expect(reportSchemaErrors(written)).toEqual([]);
    expect(written.passed).toBe(false);
    expect(fs.readFileSync(html, 'utf8')).toContain('id="chart-latency"');
    // Not a TTY: plain progress, then the summary table.
    expect(run.stdout).toContain('mcp-scale bench mixed (closed model, 2 clients)');
    expect(run.stdout).toMatch(/threshold\s+FAIL p99<0\.001ms/);
  });

  it.each([
    [['--rate', '10/s', '--ramp', '0-10/s:1s'], 'mcp-scale: use either --rate or --ramp, not both'],
    [['--threshold', 'p99<<1'], "mcp-scale: invalid --threshold 'p99<<1'"],
    [['--clients', '0'], "option '--clients <n>' argument '0' is invalid"],
    [['--scenario', 'nope'], "option '--scenario <name>' argument 'nope' is invalid"],
    [['--spawn'], 'mcp-scale: --spawn benches the cluster it starts: drop the URL'],
    [['--scenario', 'failover'], 'mcp-scale: --scenario failover needs --spawn or --ready-file'],
  ])('bad flags %j exit 2 with one line and send nothing', async (args, message) => {
    const before = server.counts.requests;
    const run = await cli(server.url, ...args);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(run.stderr).toContain(message);
    expect(server.counts.requests).toBe(before);
  });

  it('--spawn hands serve settings to the cluster starter, benches its URL and stops it', async () => {
    const requests: SpawnRequest[] = [];
    let closed = 0;
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const report = await runBenchCommand(
      { spawn: true, era: '2026', clients: 2, iterations: 10, json: true },
      {
        stdout: sink,
        stderr: sink,
        clusterSettings: { instances: '2', rateLimit: '100/1m' },
        startCluster: async (request) => {
          requests.push(request);
          return {
            url: server.url,
            readyInfo: {
              url: server.url,
              instances: [
                { id: 'w1', pid: process.pid, port: 1 },
                { id: 'w2', pid: process.pid, port: 2 },
              ],
            },
            close: async () => {
              closed += 1;
            },
          };
        },
      },
    );

    expect(requests).toHaveLength(1);
    expect(requests[0]?.config).toMatchObject({
      instances: 2,
      limits: { rateLimit: { points: 100, durationMs: 60_000 } },
    });
    expect(requests[0]?.config.port).toBeGreaterThan(0);
    expect(closed).toBe(1);
    expect(report.target).toEqual({ url: server.url, instances: 2 });
    expect(report.totals.iterations).toBe(10);
  });
});
