import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchEngine, runBench } from '../../src/bench/engine.js';
import { readReadyFile } from '../../src/bench/ready-file.js';
import { isProcessAlive } from '../../src/util/process.js';
import { startChildServer } from '../helpers/bench-children.js';
import { benchOptions as baseOptions } from '../helpers/bench-options.js';
import { startBenchProxy } from '../helpers/bench-proxy.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/** Each scenario's verdicts, against servers (and a proxy) that count the truth themselves. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function server(options: Parameters<typeof startBenchServer>[0]): Promise<BenchServer> {
  const started = await startBenchServer(options);
  closers.push(() => started.close());
  return started;
}

function tempFile(name: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-bench-'));
  closers.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/**
 * Every virtual-user scenario runs under both clients (--client sdk|lean) and
 * must reach the same verdicts; raw drives autocannon, so it runs once.
 */
describe.each(['sdk', 'lean'] as const)('bench scenarios (%s client)', (client) => {
  const benchOptions = (url: string, flags: Parameters<typeof baseOptions>[1]) =>
    baseOptions(url, { ...flags, client });
  it('affinity: sessions kept on their instance by a sticky proxy pass', async () => {
    const a = await server({ sdk: 'v1', instanceId: 'a' });
    const b = await server({ sdk: 'v1', instanceId: 'b' });
    const proxy = await startBenchProxy([a.url, b.url], 'sticky');
    closers.push(() => proxy.close());
    const report = await runBench(
      benchOptions(proxy.url, { scenario: 'affinity', clients: 4, iterations: 60 }),
      {
        url: proxy.url,
      },
    );

    expect(report.scenario.name).toBe('affinity');
    expect(report.sessions).toMatchObject({ opened: 4, lost: 0, instanceChanges: 0 });
    expect(report.scenario.checks.every((check) => check.passed)).toBe(true);
    expect(report.instances).toEqual({ a: a.counts.requests, b: b.counts.requests });
  });

  it('affinity: counts requests answered by another instance within a session, as the proxy saw them', async () => {
    const backend = await server({ sdk: 'v1', instanceId: 'shared' });
    // One backend behind two labels: every session is served, alternately "by" x and y.
    const proxy = await startBenchProxy([backend.url, backend.url], 'round-robin', ['x', 'y']);
    closers.push(() => proxy.close());
    const report = await runBench(
      benchOptions(proxy.url, { scenario: 'affinity', clients: 3, iterations: 45 }),
      {
        url: proxy.url,
      },
    );

    expect(proxy.instanceChanges).toBeGreaterThan(0);
    expect(report.sessions.instanceChanges).toBe(proxy.instanceChanges);
    const check = report.scenario.checks.find((c) => c.name === 'sessions stayed on their instance');
    expect(check?.passed).toBe(false);
  });

  it('affinity: a proxy without affinity loses sessions, one per 404 the servers sent', async () => {
    const a = await server({ sdk: 'v1', instanceId: 'a' });
    const b = await server({ sdk: 'v1', instanceId: 'b' });
    const proxy = await startBenchProxy([a.url, b.url], 'round-robin');
    closers.push(() => proxy.close());
    const report = await runBench(
      benchOptions(proxy.url, { scenario: 'affinity', clients: 2, iterations: 30 }),
      {
        url: proxy.url,
      },
    );

    expect(report.sessions.lost).toBeGreaterThan(0);
    expect(report.sessions.lost).toBe(a.counts.sessionNotFound + b.counts.sessionNotFound);
    expect(report.scenario.checks.find((c) => c.name === 'no session lost')?.passed).toBe(false);
  });

  it('ratelimit: admitted vs limited against --expect-limit, with every header and -32029', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'limited', admitRequests: 25, retryAfterSeconds: 0 });
    const flags = { scenario: 'ratelimit' as const, era: '2026' as const, clients: 3, iterations: 60 };
    const report = await runBench(
      benchOptions(s.url, { ...flags, expectLimit: { points: 25, durationMs: 60_000 } }),
      {
        url: s.url,
      },
    );

    // Every JSON-RPC request is charged, the 3 handshakes included.
    expect(report.scenario).toMatchObject({
      name: 'ratelimit',
      sent: 63,
      admitted: 25,
      limited: s.counts.limited,
      expectedAdmitted: 25,
      limitedWithRetryAfter: 38,
      limitedWithRpcCode: 38,
    });
    expect(s.counts.limited).toBe(38);
    expect(report.scenario.checks.every((check) => check.passed)).toBe(true);
    if (report.scenario.name !== 'ratelimit') throw new Error('unreachable');
    expect(Object.keys(report.scenario.headers).sort()).toEqual([
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
    ]);
    expect(report.scenario.headers['ratelimit-policy']?.onLimited).toBe(38);

    const strict = await server({ sdk: 'v2', instanceId: 'loose', admitRequests: 25, retryAfterSeconds: 0 });
    const wrong = await runBench(
      benchOptions(strict.url, { ...flags, expectLimit: { points: 20, durationMs: 60_000 } }),
      { url: strict.url },
    );
    expect(wrong.scenario.checks.find((c) => c.name === 'limit held exactly')?.passed).toBe(false);
  });

  it('script: walks the user sequence in order with templates filled in', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'scripted' });
    const file = tempFile(
      'calls.json',
      JSON.stringify({
        era: '2026',
        steps: [
          { method: 'tools/list' },
          { tool: 'get_product', args: { id: 'p{{random:1:5}}' } },
          { tool: 'update_inventory', args: { id: '{{vu}}', delta: { $number: '{{random:1:3}}' } } },
        ],
      }),
    );
    const report = await runBench(benchOptions(s.url, { script: file, clients: 1, iterations: 30 }), {
      url: s.url,
    });

    expect(report.options.era).toBe('2026');
    expect(report.totals.errors).toBe(0);
    expect(s.counts.byMethod['tools/list']).toBe(10);
    expect(s.counts.byTool).toEqual({ get_product: 10, update_inventory: 10 });
    expect(report.scenario).toMatchObject({ name: 'script', steps: 3 });
  });

  it('failover: kills the named worker by PID and counts the sessions it took down', async () => {
    const w1 = await startChildServer('w1');
    closers.push(() => w1.close());
    const w2 = await startChildServer('w2');
    closers.push(() => w2.close());
    const proxy = await startBenchProxy([w1.url, w2.url], 'sticky');
    closers.push(() => proxy.close());
    const readyFile = tempFile(
      'ready.json',
      JSON.stringify({
        url: proxy.url,
        instances: [w1, w2].map((w) => ({ id: w.id, pid: w.pid, port: w.port })),
      }),
    );
    const options = benchOptions(proxy.url, {
      scenario: 'failover',
      readyFile,
      clients: 4,
      // The kill comes once every user holds its session, even on a loaded machine (a user still
      // initializing at the kill is an error, not a lost session, and the counts below assume 4 sessions).
      duration: 4000,
      killAt: 2000,
      killInstance: 'w1',
    });
    const engine = new BenchEngine(options, { url: proxy.url, readyInfo: readReadyFile(readyFile) });
    const logs: string[] = [];
    engine.on('log', (line) => logs.push(line));
    const report = await engine.run();

    expect(isProcessAlive(w1.pid)).toBe(false);
    expect(logs.some((line) => line.includes('killed worker w1'))).toBe(true);
    if (report.scenario.name !== 'failover') throw new Error('expected the failover summary');
    expect(report.scenario.killed).toMatchObject({ id: 'w1', pid: w1.pid });
    // Every session w1 had created was in use and died with it.
    expect(w1.sessions.length).toBe(2);
    expect(report.scenario.sessionsOnKilledInstance).toBe(w1.sessions.length);
    expect(report.sessions.lost).toBe(w1.sessions.length);
    expect(report.scenario.sessionsRehomed).toBe(0);
    expect(report.scenario.errorsAfterKill).toBeGreaterThanOrEqual(w1.sessions.length);
    expect(report.scenario.checks.find((c) => c.name === 'no session lost')?.passed).toBe(false);
    // The users re-initialized on the survivor and carried on.
    expect(w2.sessions.length).toBe(2 + w1.sessions.length);
  });
});

/** raw drives autocannon, not virtual users: one client, run once. */
describe('bench raw scenario', () => {
  const benchOptions = baseOptions;

  it('raw: one pre-opened session per connection, distinct ids, counts equal to what the server answered', async () => {
    const s = await server({ sdk: 'v1', instanceId: 'raw' });
    const report = await runBench(benchOptions(s.url, { scenario: 'raw', clients: 4, iterations: 200 }), {
      url: s.url,
    });

    expect(report.scenario).toMatchObject({ name: 'raw', connections: 4, sessionsOpened: 4, method: 'ping' });
    expect(s.counts.sessionsCreated).toBe(4);
    expect(report.latency.byMethod.ping?.count).toBe(s.counts.byMethod.ping);
    expect(s.counts.byMethod.ping).toBe(200);
    expect(report.totals.errors).toBe(0);
    expect(report.scenario.name === 'raw' && report.scenario.ignoreCoordinatedOmission).toBe(false);
  });

  it('raw with --rate turns off autocannon coordinated-omission correction', async () => {
    const s = await server({ sdk: 'v1', instanceId: 'raw-rate' });
    const report = await runBench(
      benchOptions(s.url, {
        scenario: 'raw',
        clients: 2,
        rate: '100/s',
        iterations: 50,
        tool: 'get_user',
        args: '{}',
      }),
      { url: s.url },
    );

    expect(report.scenario).toMatchObject({
      name: 'raw',
      ratePerSecond: 100,
      ignoreCoordinatedOmission: true,
    });
    expect(report.latency.byTool.get_user?.count).toBe(50);
    expect(s.counts.byTool.get_user).toBe(50);
    expect(report.totals.errors).toBe(0);
  });
});
