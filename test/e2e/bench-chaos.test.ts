import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/report-schema.js';
import type { ReadyInfo } from '../../src/cluster/supervisor.js';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { CLI, startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * `bench --scenario failover --kill gateway --kill-every` against `serve
 * --gateways 2`: each kill's figures checked against what the cluster says
 * (the pids in the ready file before and after, the supervisor's restart
 * lines) and against each other (errors per kill add up to the run's).
 * Then `--kill redis` against `serve --redis ha`, checked the same way
 * against the ready file and the sentinels.
 */
function benchCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const CLIENTS = 6;

/** The report of a successful `bench --json` run, checked against the schema, and its failover summary. */
function failoverReport(run: { code: number | null; stdout: string; stderr: string }) {
  expect(run.code, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout) as BenchReport;
  expect(reportSchemaErrors(report)).toEqual([]);
  const scenario = report.scenario;
  if (scenario.name !== 'failover') throw new Error('expected the failover summary');
  return { report, scenario };
}

describe('bench --scenario failover --kill gateway against serve --gateways 2', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--gateways', '2']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'reports each kill as the cluster saw it: victims, replacements, errors and sessions',
    { timeout: 90_000 },
    async () => {
      const before = cluster.info;
      const html = path.join(cluster.home, 'chaos.html');
      const run = await benchCli([
        '--ready-file',
        cluster.readyFile,
        '--scenario',
        'failover',
        '--kill',
        'gateway',
        '--kill-at',
        '1500ms',
        '--kill-every',
        '4s',
        '--clients',
        String(CLIENTS),
        '--duration',
        // Kills at 1.5 s (or once every client has had an answer) and 5.5 s; none at 9.5 s.
        '9s',
        '--html',
        html,
        '--json',
      ]);
      const { report, scenario } = failoverReport(run);
      expect(scenario.kill).toBe('gateway');
      expect(scenario.killEveryMs).toBe(4000);

      // Kills at 1.5 s (later if a client is still connecting) and 5.5 s, gateways in turn, by
      // the pids the ready file gave. The second is skipped (and says so) if g1 is not back yet
      // on a loaded machine: killing the last live gateway would be an outage, not a failover.
      expect(scenario.kills).toHaveLength(2);
      const [first, second] = scenario.kills;
      expect([first!.id, first!.pid, first!.skipped]).toEqual(['g1', before.gateways[0]!.pid, null]);
      if (second!.skipped === null)
        expect([second!.id, second!.pid]).toEqual(['g2', before.gateways[1]!.pid]);
      else expect(second!.skipped).toMatch(/g2 is the last live gateway/);
      const done = scenario.kills.filter((k) => k.skipped === null);
      // Each victim's replacement is the pid the supervisor wrote into the ready file.
      const after = await waitForReadyInfo(cluster.readyFile, (info: ReadyInfo) =>
        done.every((k) => info.gateways.find((g) => g.id === k.id)!.pid !== k.pid),
      );
      for (const kill of done) {
        expect(kill.replacedByPid).toBe(after.gateways.find((g) => g.id === kill.id)!.pid);
        expect(kill.replacedAfterMs).toBeGreaterThan(0);
      }
      // The supervisor restarted each killed gateway once, and no other.
      for (const id of ['g1', 'g2']) {
        const restarts = cluster
          .stderr()
          .match(new RegExp(`\\[${id}\\] exited \\(SIGKILL\\); restarting`, 'g'));
        expect(restarts?.length ?? 0).toBe(done.filter((k) => k.id === id).length);
      }

      // Every error the clients saw came after a kill and is in that kill's window;
      // a closed-model client has one call in flight, so a kill cuts at most one per
      // client (plus one more on a pooled connection that died with the gateway).
      expect(scenario.kills.reduce((sum, k) => sum + k.errors, 0)).toBe(report.totals.errors);
      expect(scenario.errorsAfterKill).toBe(report.totals.errors);
      const everyKill = `every kill: ${JSON.stringify(scenario.kills)}`;
      for (const kill of done) {
        expect(kill.errors).toBeLessThanOrEqual(2 * CLIENTS);
        expect(kill.recoveredAfterMs, everyKill).not.toBeNull();
        if (kill.errors > 0) expect(kill.errorWindow!.lastMs).toBeLessThanOrEqual(kill.recoveredAfterMs!);
        // The first kill waits until every client has had an answer, so every session is in use.
        expect(kill.sessionsActive, everyKill).toBe(CLIENTS);
        // The gateways keep no session of their own: none lost; each session is either used again
        // or, after the last kill only, not used again before the run ended (reported as such).
        expect(kill.sessionsLost).toBe(0);
        expect(kill.sessionsKept + kill.sessionsNotSeenAgain, everyKill).toBe(kill.sessionsActive);
        if (kill !== done.at(-1)) expect(kill.sessionsKept, everyKill).toBe(kill.sessionsActive);
        else expect(kill.sessionsKept, everyKill).toBeGreaterThan(0);
      }
      expect(report.sessions.lost).toBe(0);
      expect(report.sessions.opened).toBe(CLIENTS);

      // The same kills in the HTML report.
      const page = fs.readFileSync(html, 'utf8');
      expect(page).toContain('<table id="kills">');
      expect(page).toContain(`gateway g1 pid ${before.gateways[0]!.pid}`);
    },
  );
});

describe('bench --scenario failover --kill redis against serve --redis ha', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--backend-latency', '0', '--redis', 'ha']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'kills the primary the ready file names, and names the replica the sentinels promoted',
    { timeout: 90_000 },
    async () => {
      const before = cluster.info.redis;
      const run = await benchCli([
        '--ready-file',
        cluster.readyFile,
        '--scenario',
        'failover',
        '--kill',
        'redis',
        '--kill-at',
        '1500ms',
        '--clients',
        String(CLIENTS),
        '--duration',
        '10s',
        '--json',
      ]);
      const { report, scenario } = failoverReport(run);
      expect(scenario.kill).toBe('redis');

      // One kill, of the primary the ready file named before it.
      expect(scenario.kills).toHaveLength(1);
      const kill = scenario.kills[0]!;
      expect([kill.id, kill.pid, kill.skipped]).toEqual(['redis', before.primary!.pid, null]);

      // Its replacement is the replica the sentinels promoted: the ready file now names it as
      // primary, and every sentinel gives its port for the master.
      const after = await waitForReadyInfo(
        cluster.readyFile,
        (info: ReadyInfo) => info.redis.primary!.pid !== before.primary!.pid,
      );
      expect(after.redis.primary).toEqual(before.replica);
      expect(kill.replacedByPid, JSON.stringify(kill)).toBe(before.replica!.pid);
      expect(kill.replacedAfterMs).toBeGreaterThan(0);
      const target = parseRedisUrl(before.url!);
      if (target.kind !== 'sentinel') throw new Error('unreachable');
      const sentinels = before.sentinels!.map(
        (sentinel) =>
          new Redis({
            host: '127.0.0.1',
            port: sentinel.port,
            password: target.sentinelPassword,
            maxRetriesPerRequest: 1,
          }),
      );
      const masters = () =>
        Promise.all(
          sentinels.map(
            (sentinel) =>
              sentinel.call('SENTINEL', 'get-master-addr-by-name', target.masterName) as Promise<string[]>,
          ),
        );
      try {
        // The leader switches first; the others learn the new epoch from its hello messages.
        const promoted = ['127.0.0.1', String(before.replica!.port)];
        await waitUntil(
          async () => (await masters()).every((addr) => addr.join(':') === promoted.join(':')),
          'every sentinel to name the promoted replica',
        );
        expect(await masters()).toEqual(sentinels.map(() => promoted));
      } finally {
        for (const sentinel of sentinels) sentinel.disconnect();
      }

      // Every error came after the kill and is in its window; the clients recovered.
      expect(kill.errors).toBe(report.totals.errors);
      expect(scenario.errorsAfterKill).toBe(report.totals.errors);
      expect(kill.recoveredAfterMs, JSON.stringify(kill)).not.toBeNull();
      expect(kill.recoveredAfterMs).toBeGreaterThanOrEqual(0);
      if (kill.errors > 0) expect(kill.errorWindow!.lastMs).toBeLessThanOrEqual(kill.recoveredAfterMs!);
      // Sessions live on in the gateway: every session was in use at the kill (it waits for every
      // client's first answer), none lost, and each used again unless the run ended first.
      expect(kill.sessionsActive).toBe(CLIENTS);
      expect(kill.sessionsLost).toBe(0);
      expect(kill.sessionsKept + kill.sessionsNotSeenAgain).toBe(kill.sessionsActive);
      expect(kill.sessionsKept, JSON.stringify(kill)).toBeGreaterThan(0);
      expect(report.sessions.lost).toBe(0);
      expect(report.sessions.opened).toBe(CLIENTS);
      cluster.info = after;
    },
  );
});
