import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/bench/metrics.js';
import { createFailoverScenario } from '../../src/bench/scenarios/failover.js';
import type { ResponseRecord } from '../../src/bench/types.js';
import { isProcessAlive, waitForExit } from '../../src/util/process.js';
import { benchOptions } from '../helpers/bench-options.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Which sessions the failover scenario counts as held by the killed worker
 * and as re-homed, from records fed in a known order around the kill (the
 * victim is a plain sleeping process, so the kill is real).
 */
const victims: number[] = [];
afterEach(async () => {
  for (const pid of victims.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
});

function sleeper(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('no pid');
  victims.push(child.pid);
  return child.pid;
}

function record(
  sessionId: string,
  instance: string,
  intendedAt: number,
  at: number,
  method = 'tools/call',
): ResponseRecord {
  return {
    at,
    intendedAt,
    latencyMs: at - intendedAt,
    era: '2025',
    vu: 0,
    method,
    ok: true,
    status: 200,
    instance,
    sessionId,
  };
}

describe('failover scenario: sessions on the killed worker and sessions re-homed', () => {
  it('counts a session whose initialize answer from the victim arrived after the kill, and a re-home onto the restarted worker', async () => {
    const pid = sleeper();
    const url = 'http://127.0.0.1:1/mcp';
    const readyInfo = {
      url,
      instances: [
        { id: 'w1', pid, port: 1 },
        { id: 'w2', pid: sleeper(), port: 2 },
      ],
    };
    const options = benchOptions(url, { scenario: 'failover', readyFile: 'ready.json', killInstance: 'w1' });
    const scenario = createFailoverScenario({ ...options, killAtMs: 100 }, { url, readyInfo });
    let now = 0;
    const logs: string[] = [];
    const metrics = new MetricsCollector();
    const observe = (r: ResponseRecord) => {
      metrics.record(r);
      scenario.observe?.(r);
    };

    observe(record('s1', 'w1', 0, 10, 'initialize')); // created on w1, answered before the kill
    observe(record('s3', 'w2', 0, 12, 'initialize')); // on the survivor
    now = 100;
    await scenario.start?.({
      options,
      target: { url, readyInfo },
      clock: () => now,
      plannedEndMs: 1000,
      instanceCounts: () => ({}),
      log: (line) => logs.push(line),
    });
    await waitUntil(() => logs.some((line) => line.includes('killed worker w1')), 'the kill');
    expect(await waitForExit(pid, 5000)).toBe(true);

    // s2's initialize was sent before the kill and answered by w1 just before it died,
    // but the client only finished connecting (and recorded it) after the kill.
    observe(record('s2', 'w1', 50, 150, 'initialize'));
    observe(record('s1', 'w2', 160, 165)); // s1 re-homed to the survivor
    observe(record('s3', 'w2', 170, 175)); // s3 never moved
    // s2's next call is answered by the restarted w1 (same id, new process): it was replayed there.
    observe(record('s2', 'w1', 400, 405));
    observe(record('s4', 'w1', 500, 520, 'initialize')); // a new session on the restarted w1: never on the victim

    await scenario.stop?.();
    const summary = scenario.summary(metrics.result());
    if (summary.name !== 'failover') throw new Error('expected the failover summary');
    expect(summary.killed).toEqual({ id: 'w1', pid, atMs: 100 });
    expect(summary.sessionsOnKilledInstance).toBe(2);
    expect(summary.sessionsRehomed).toBe(2);
    expect(summary.sessionsLost).toBe(0);
    expect(summary.errorsAfterKill).toBe(0);
  });

  it('a session the victim held that is never answered again is not re-homed', async () => {
    const pid = sleeper();
    const url = 'http://127.0.0.1:1/mcp';
    const readyInfo = {
      url,
      instances: [
        { id: 'w1', pid, port: 1 },
        { id: 'w2', pid: sleeper(), port: 2 },
      ],
    };
    const options = benchOptions(url, { scenario: 'failover', readyFile: 'ready.json', killInstance: 'w1' });
    const scenario = createFailoverScenario({ ...options, killAtMs: 100 }, { url, readyInfo });
    const logs: string[] = [];
    scenario.observe?.(record('s1', 'w1', 0, 10, 'initialize'));
    await scenario.start?.({
      options,
      target: { url, readyInfo },
      clock: () => 100,
      plannedEndMs: 1000,
      instanceCounts: () => ({}),
      log: (line) => logs.push(line),
    });
    await waitUntil(() => logs.length > 0, 'the kill');
    // An answer from w1 to a request sent before the kill is the dying process, not a re-home.
    scenario.observe?.(record('s1', 'w1', 90, 120));
    await scenario.stop?.();
    const summary = scenario.summary(new MetricsCollector().result());
    if (summary.name !== 'failover') throw new Error('expected the failover summary');
    expect(summary.sessionsOnKilledInstance).toBe(1);
    expect(summary.sessionsRehomed).toBe(0);
  });
});
