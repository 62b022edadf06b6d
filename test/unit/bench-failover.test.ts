import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  vi.useRealTimers();
  for (const pid of victims.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
});

function sleeper(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('no pid');
  victims.push(child.pid);
  return child.pid;
}

/** A ready file's two instances, each a live process; `pid` is w1's (the one a test kills). */
function twoInstances(url: string) {
  const pid = sleeper();
  return {
    pid,
    readyInfo: {
      url,
      instances: [
        { id: 'w1', pid, port: 1 },
        { id: 'w2', pid: sleeper(), port: 2 },
      ],
    },
  };
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
    const url = 'http://127.0.0.1:1/mcp';
    const { pid, readyInfo } = twoInstances(url);
    const options = benchOptions(url, {
      scenario: 'failover',
      readyFile: 'ready.json',
      killInstance: 'w1',
      clients: 1,
    });
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
    const url = 'http://127.0.0.1:1/mcp';
    const { readyInfo } = twoInstances(url);
    const options = benchOptions(url, {
      scenario: 'failover',
      readyFile: 'ready.json',
      killInstance: 'w1',
      clients: 1,
    });
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

  it('holds the first kill until every user has had an answer, and says how long it waited', async () => {
    const url = 'http://127.0.0.1:1/mcp';
    const { pid, readyInfo } = twoInstances(url);
    const flags = { scenario: 'failover', readyFile: 'ready.json', killInstance: 'w1', clients: 2 } as const;
    const options = benchOptions(url, flags);
    const scenario = createFailoverScenario({ ...options, killAtMs: 100 }, { url, readyInfo });
    let now = 0;
    const logs: string[] = [];
    scenario.observe?.(record('s1', 'w1', 0, 10, 'initialize')); // user 0 is in
    now = 100;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await scenario.start?.({
      options,
      target: { url, readyInfo },
      clock: () => now,
      plannedEndMs: 10_000,
      instanceCounts: () => ({}),
      log: (line) => logs.push(line),
    });
    // Due at 100 ms, but user 1 is still opening its session: no kill, however long that takes.
    vi.advanceTimersByTime(5000);
    expect(logs).toEqual([]);
    expect(isProcessAlive(pid)).toBe(true);
    scenario.observe?.({ ...record('s2', 'w2', 50, 450, 'initialize'), vu: 1 });
    now = 450;
    vi.advanceTimersByTime(200);
    vi.useRealTimers();
    expect(logs.slice(0, 2)).toEqual([
      "failover: kill 1 waited 350 ms for every user's first answer",
      'failover: killed worker w1 (pid ' + pid + ') at 0.5s',
    ]);
    expect(await waitForExit(pid, 5000)).toBe(true);
    await scenario.stop?.();
    const summary = scenario.summary(new MetricsCollector().result());
    if (summary.name !== 'failover') throw new Error('expected the failover summary');
    expect(summary.kills.map((k) => [k.id, k.atMs, k.skipped, k.sessionsActive])).toEqual([
      ['w1', 450, null, 2],
    ]);
  });

  it('skips the first kill, and says why, when the users never all had an answer', async () => {
    const url = 'http://127.0.0.1:1/mcp';
    const { pid, readyInfo } = twoInstances(url);
    const options = benchOptions(url, { scenario: 'failover', readyFile: 'ready.json', clients: 3 });
    const scenario = createFailoverScenario({ ...options, killAtMs: 100 }, { url, readyInfo });
    let now = 100;
    scenario.observe?.(record('s1', 'w1', 0, 10, 'initialize'));
    await scenario.start?.({
      options,
      target: { url, readyInfo },
      clock: () => now,
      plannedEndMs: 1000,
      instanceCounts: () => ({}),
      log: () => undefined,
    });
    now = 1000; // the load ended
    await waitUntil(
      () =>
        scenario.summary(new MetricsCollector().result()).name === 'failover' && killsOf(scenario).length > 0,
      'the skipped kill',
    );
    expect(killsOf(scenario)[0]!.skipped).toBe('1 of 3 users had an answer when the load ended');
    expect(isProcessAlive(pid)).toBe(true);
    await scenario.stop?.();
  });
});

function killsOf(scenario: ReturnType<typeof createFailoverScenario>) {
  const summary = scenario.summary(new MetricsCollector().result());
  if (summary.name !== 'failover') throw new Error('expected the failover summary');
  return summary.kills;
}
