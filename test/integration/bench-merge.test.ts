import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BenchEngine } from '../../src/bench/engine.js';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { mergeReports } from '../../src/bench/merge/merge-reports.js';
import type { BenchReport } from '../../src/bench/report-schema.js';
import { SETUP_METHODS, type ResponseRecord } from '../../src/bench/types.js';
import { benchOptions } from '../helpers/bench-options.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { runCliCaptured } from '../helpers/cli-capture.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * `bench merge`: two load machines' reports (here two engines run at the
 * same time against one server) merged into one report whose counts are
 * the server's own, and whose percentiles are those of every request the
 * two runs recorded: exact, not averaged.
 */
let server: BenchServer;
let dir: string;

beforeAll(async () => {
  server = await startBenchServer({ sdk: 'v2', instanceId: 'merge', delayMs: 2 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-bench-merge-'));
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

/** Runs two benches at once; returns their report files and every record they saw. */
async function twoMachines(): Promise<{
  files: string[];
  records: ResponseRecord[];
  reports: BenchReport[];
}> {
  const records: ResponseRecord[] = [];
  const engines = [
    new BenchEngine(benchOptions(server.url, { era: '2026', clients: 3, iterations: 90, seed: 1 }), {
      url: server.url,
    }),
    new BenchEngine(benchOptions(server.url, { era: '2025', clients: 2, iterations: 70, seed: 2 }), {
      url: server.url,
    }),
  ];
  for (const engine of engines) engine.on('response', (record) => records.push(record));
  const reports = await Promise.all(engines.map((engine) => engine.run()));
  const files = reports.map((report, i) => {
    const file = path.join(dir, `machine-${i}.json`);
    fs.writeFileSync(file, JSON.stringify(report));
    return file;
  });
  return { files, records, reports };
}

describe('mcp-scale bench merge', () => {
  it('merges reports into the server-side counts and the exact percentiles of every request', async () => {
    const before = server.counts.requests;
    const { files, records, reports } = await twoMachines();
    const out = path.join(dir, 'merged.json');
    const html = path.join(dir, 'merged.html');

    const result = await cli('merge', ...files, '--json', '--out', out, '--html', html);
    expect(result.code).toBe(0);
    const merged = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchReport;
    expect(JSON.parse(result.stdout)).toEqual(merged);
    expect(reportSchemaErrors(merged)).toEqual([]);

    // Counts: what the server answered.
    expect(merged.totals.requests).toBe(server.counts.requests - before);
    expect(merged.totals.iterations).toBe(160);
    expect(merged.eras['2026'].virtualUsers).toBe(3);
    expect(merged.eras['2025'].virtualUsers).toBe(2);
    expect(merged.options.procs).toBe(2);
    expect(merged.load.achieved.iterations).toBe(160);
    expect(merged.load.offered.iterations).toBe(160);
    expect(merged.load.perUser).toHaveLength(5);
    expect(new Set(merged.load.perUser.map((u) => u.vu)).size).toBe(5);

    // Percentiles: one histogram of every request both runs recorded.
    const truth = new LatencyHistogram();
    const byTool = new Map<string, LatencyHistogram>();
    for (const record of records) {
      if (SETUP_METHODS.has(record.method)) continue;
      truth.recordMs(record.latencyMs);
      if (record.tool) {
        const h = byTool.get(record.tool) ?? new LatencyHistogram();
        h.recordMs(record.latencyMs);
        byTool.set(record.tool, h);
      }
    }
    expect(merged.latency.all).toEqual(truth.summary());
    for (const [tool, histogram] of byTool) expect(merged.latency.byTool[tool]).toEqual(histogram.summary());
    // The timeline adds up too.
    expect(merged.timeline.reduce((n, b) => n + b.requests, 0)).toBe(merged.totals.requests);
    expect(fs.readFileSync(html, 'utf8')).toContain('id="load-table"');

    // Merging is associative with the library call, and a one-report merge is the report itself.
    expect(mergeReports(reports).latency).toEqual(merged.latency);
    expect(mergeReports([reports[0] as BenchReport]).latency).toEqual(reports[0]?.latency);
  });

  it('judges thresholds on the merged report (exit 99) and refuses what is not a report (exit 2)', async () => {
    const { files } = await twoMachines();
    const failing = await cli('merge', ...files, '--threshold', 'iterations<100');
    expect(failing.code).toBe(99);
    expect(failing.stdout).toMatch(/threshold {2}FAIL iterations<100 \(actual 160\)/);
    const passing = await cli(
      'merge',
      ...files,
      '--threshold',
      'achieved>95%',
      '--threshold',
      'iterations==160',
    );
    expect(passing.code).toBe(0);

    const notJson = path.join(dir, 'not.json');
    fs.writeFileSync(notJson, 'hello');
    const bad = await cli('merge', files[0] ?? '', notJson);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not\.json: not JSON/);
    const old = path.join(dir, 'old.json');
    const { histograms: _dropped, ...withoutHistograms } = JSON.parse(
      fs.readFileSync(files[0] ?? '', 'utf8'),
    ) as BenchReport;
    fs.writeFileSync(old, JSON.stringify(withoutHistograms));
    const missing = await cli('merge', old);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/old\.json: not a bench report of this version \(histograms/);
  });
});
