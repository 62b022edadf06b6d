import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  instancesOf,
  requestsBetween,
  spreadProblem,
  sumMetric,
} from '../../scripts/conformance/instance-load.js';
import { judgeDirectRun } from '../../scripts/conformance/known-results.js';
import {
  buildRows,
  findDifferences,
  renderMarkdownTable,
  type TargetOutcome,
} from '../../scripts/conformance/report.js';
import { parseSuiteRun, summarizeChecks, type ScenarioResult } from '../../scripts/conformance/results.js';
import { TARGETS } from '../../scripts/conformance/targets.js';

const pass = (scenario: string) => summarizeChecks(scenario, [{ id: scenario, status: 'SUCCESS' }]);
const fail = (scenario: string, id = scenario) =>
  summarizeChecks(scenario, [{ id, status: 'FAILURE', errorMessage: 'broken' }]);
const ran = (id: 'a' | 'b' | 'c', results: ScenarioResult[]): TargetOutcome => ({
  id,
  label: id,
  state: 'ran',
  url: 'http://127.0.0.1:1/mcp',
  durationMs: 1000,
  results,
});

describe('conformance results', () => {
  it('grades a scenario by its worst check: FAILURE > WARNING > the rest', () => {
    expect(summarizeChecks('s', [{ status: 'SUCCESS' }, { status: 'INFO' }]).status).toBe('pass');
    expect(summarizeChecks('s', [{ status: 'SUCCESS' }, { id: 'w', status: 'WARNING' }]).status).toBe('warn');
    const failed = summarizeChecks('s', [
      { id: 'w', status: 'WARNING' },
      { id: 'f', status: 'FAILURE' },
    ]);
    expect(failed).toMatchObject({ status: 'fail', failed: 1, warnings: 1, passed: 0 });
  });

  it('reads checks.json per scenario and fails a scenario that wrote none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-parse-'));
    const scenarioDir = path.join(dir, 'server-tools-call-image-2026-01-02T03-04-05-678Z');
    fs.mkdirSync(scenarioDir);
    fs.writeFileSync(path.join(scenarioDir, 'checks.json'), JSON.stringify([{ id: 'x', status: 'SUCCESS' }]));
    const stdout = [
      "Running client scenario 'tools-call-image' against server: http://x",
      "Running client scenario 'ping' against server: http://x",
    ].join('\n');
    const results = await parseSuiteRun(stdout, dir);
    expect(results.map((r) => [r.scenario, r.status])).toEqual([
      ['tools-call-image', 'pass'],
      ['ping', 'fail'],
    ]);
  });
});

describe('conformance comparison', () => {
  it('reports a status change and a different failing check, and nothing for a skipped target', () => {
    const outcomes: TargetOutcome[] = [
      ran('a', [pass('ping'), fail('tools-list', 'one'), pass('prompts-list')]),
      ran('b', [fail('ping'), fail('tools-list', 'other'), pass('prompts-list')]),
      { id: 'c', label: 'c', state: 'skipped', reason: 'serve not available' },
    ];
    const differences = findDifferences(outcomes);
    expect(differences.map((d) => [d.scenario, d.target, d.direct, d.other])).toEqual([
      ['ping', 'b', 'pass', 'fail'],
      ['tools-list', 'b', 'fail', 'fail'],
    ]);
    const markdown = renderMarkdownTable(outcomes, buildRows(outcomes));
    expect(markdown).toContain('| ping | pass | fail | skip |');
    expect(markdown).toContain('(c) c: skipped: serve not available');
  });

  it('counts a target that could not start as different on every scenario', () => {
    const outcomes: TargetOutcome[] = [
      ran('a', [pass('ping'), pass('tools-list')]),
      { id: 'b', label: 'b', state: 'error', reason: 'exited with 1' },
    ];
    expect(findDifferences(outcomes).map((d) => [d.scenario, d.other])).toEqual([
      ['ping', 'error'],
      ['tools-list', 'error'],
    ]);
  });

  it('holds (a) to its known results: new failures and stale entries both count', () => {
    const known = { 'server-sse-polling': { status: 'warn' as const, reason: 'pending upstream' } };
    expect(judgeDirectRun([pass('ping'), fail('tools-list'), pass('server-sse-polling')], known)).toEqual({
      unexpected: [{ scenario: 'tools-list', expected: 'pass', actual: 'fail' }],
      stale: ['server-sse-polling'],
    });
  });
});

describe('conformance targets', () => {
  it('accepts (c) only when its ready file shows nginx in front', () => {
    const check = TARGETS.find((t) => t.id === 'c')?.checkReady;
    const url = 'http://127.0.0.1:8080/mcp';
    expect(check?.({ url })).toMatch(/no nginx load balancer/);
    expect(check?.({ url, lb: { kind: 'haproxy', affinity: 'session', url, pid: 1 } })).toBeDefined();
    expect(check?.({ url, lb: { kind: 'nginx', affinity: 'session', url, pid: 1 } })).toBeUndefined();
  });
});

describe('conformance instance load', () => {
  it('sums a counter over its labels and ignores other metrics', () => {
    const text = [
      '# HELP mcp_scale_worker_requests_total HTTP requests served',
      'mcp_scale_worker_requests_total{era="legacy",status="200",worker="w1"} 40',
      'mcp_scale_worker_requests_total{era="legacy",status="202",worker="w1"} 12',
      'mcp_scale_worker_requests_total_created 5',
      'mcp_scale_worker_sessions{worker="w1"} 3',
    ].join('\n');
    expect(sumMetric(text, 'mcp_scale_worker_requests_total')).toBe(52);
  });

  it('takes the instances from serve, or the worker itself, from the ready file', () => {
    const url = 'http://127.0.0.1:9/mcp';
    expect(instancesOf({ url, role: 'worker', id: 'direct' })).toEqual([{ id: 'direct', url }]);
    expect(instancesOf({ url, instances: [{ id: 'w1', pid: 1, port: 7 }] })).toEqual([
      { id: 'w1', url: 'http://127.0.0.1:7/mcp' },
    ]);
  });

  it('fails a scaled target whose suite never reached one of its instances', () => {
    const load = requestsBetween({ w1: 3, w2: 0, w3: undefined }, { w1: 50, w2: 0, w3: 9 });
    expect(load).toEqual({ w1: 47, w2: 0 });
    expect(spreadProblem(load, 2)).toMatch(/never reached w2/);
    expect(spreadProblem(load, 3)).toMatch(/only 2 of 3 instances answered/);
    expect(spreadProblem({ w1: 47, w2: 1 }, 2)).toBeUndefined();
    // A restarted instance counts from zero again.
    expect(requestsBetween({ w1: 40 }, { w1: 6 })).toEqual({ w1: 6 });
  });
});
