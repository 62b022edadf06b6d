import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunningCluster } from '../../src/cluster/state-file.js';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import { isProcessAlive } from '../../src/util/process.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { CLI, expectAllGone, startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);

function redisPids(cluster: TestCluster): number[] {
  const redis = cluster.info.redis;
  return [redis.primary!.pid, redis.replica!.pid, ...redis.sentinels!.map((s) => s.pid)];
}

function stateOf(cluster: TestCluster): { privateRedisPids: number[]; privateRedisDir: string } {
  return JSON.parse(
    fs.readFileSync(path.join(cluster.home, 'clusters', `${cluster.process.pid}.json`), 'utf8'),
  );
}

describe('mcp-scale serve --redis ha', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--backend-latency', '0', '--redis', 'ha']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('ready file: mode ha, the sentinel URL (with its passwords, file 0600), each process with pid and port', () => {
    const redis = cluster.info.redis;
    expect(redis.mode).toBe('ha');
    const target = parseRedisUrl(redis.url!);
    expect(target).toMatchObject({ kind: 'sentinel', masterName: 'mcp-scale' });
    if (target.kind !== 'sentinel') throw new Error('unreachable');
    expect(target.password).toMatch(/^[0-9a-f]{36}$/);
    expect(target.sentinelPassword).toMatch(/^[0-9a-f]{36}$/);
    expect(target.sentinels.map((s) => s.port)).toEqual(redis.sentinels!.map((s) => s.port));
    expect(redis.sentinels).toHaveLength(3);
    for (const pid of redisPids(cluster)) expect(isProcessAlive(pid)).toBe(true);
    expect(fs.statSync(cluster.readyFile).mode & 0o777).toBe(0o600);
  });

  it('the banner names every Redis process with its pid, and no password', () => {
    const banner = cluster.stdout();
    const { primary, replica, sentinels, url } = cluster.info.redis;
    expect(banner).toContain(`primary pid ${primary!.pid} port ${primary!.port}`);
    expect(banner).toContain(`replica pid ${replica!.pid} port ${replica!.port}`);
    for (const s of sentinels!) expect(banner).toContain(`pid ${s.pid} port ${s.port}`);
    expect(banner).toContain('redis-sentinel://:***@127.0.0.1:');
    const target = parseRedisUrl(url!);
    if (target.kind !== 'sentinel') throw new Error('unreachable');
    expect(banner).not.toContain(target.password!);
    expect(banner).not.toContain(target.sentinelPassword!);
  });

  it('the roles get the URL in their environment, not in argv', () => {
    const target = parseRedisUrl(cluster.info.redis.url!);
    if (target.kind !== 'sentinel') throw new Error('unreachable');
    for (const pid of [cluster.info.gateway.pid, ...cluster.info.instances.map((w) => w.pid)]) {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      expect(argv).not.toContain('redis-sentinel');
      expect(argv).not.toContain(target.password!);
      expect(argv).not.toContain(target.sentinelPassword!);
    }
  });

  it('serves sessions, and the admin commands find the Sentinel-managed Redis from the state file', async () => {
    const client = await connectV1(cluster.url);
    expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00003' } })).id).toBe(
      'p00003',
    );
    const { stdout } = await run(process.execPath, [CLI, 'sessions', 'list', '--json'], {
      env: { ...process.env, MCP_SCALE_HOME: cluster.home },
    });
    const sessions = JSON.parse(stdout) as { id: string }[];
    expect(sessions.map((s) => s.id)).toContain((client.transport as { sessionId?: string }).sessionId);
    await client.close();
  });

  it(
    'a SIGKILLed primary: the replica is promoted, the ready file names it, and the cluster keeps serving',
    { timeout: 90_000 },
    async () => {
      const client = await connectV1(cluster.url);
      const before = cluster.info.redis;
      expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00005' } })).id).toBe(
        'p00005',
      );
      // Replication is asynchronous: the session record must have reached the replica before the crash.
      const target = parseRedisUrl(before.url!);
      if (target.kind !== 'sentinel') throw new Error('unreachable');
      const primary = new Redis({ host: '127.0.0.1', port: before.primary!.port, password: target.password });
      expect(await primary.call('WAIT', '1', '5000')).toBe(1);
      primary.disconnect();
      process.kill(before.primary!.pid, 'SIGKILL');
      const after = await waitForReadyInfo(
        cluster.readyFile,
        (info) => info.redis.primary!.pid !== before.primary!.pid,
      );
      expect(after.redis.primary).toEqual(before.replica);
      expect(after.redis.replica).toEqual(before.primary);
      await waitUntil(
        () =>
          cluster.stdout().includes(`promoted pid ${before.replica!.pid}`) ||
          cluster.stderr().includes(`promoted pid ${before.replica!.pid}`),
        'the failover log line',
      );
      // The same gateway and workers (no restart), and a new session is stored on the new primary.
      expect(after.gateway.pid).toBe(cluster.info.gateway.pid);
      expect(after.instances.map((w) => w.pid)).toEqual(cluster.info.instances.map((w) => w.pid));
      expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00004' } })).id).toBe(
        'p00004',
      );
      await waitUntil(
        async () => {
          const { stdout } = await run(process.execPath, [CLI, 'sessions', 'list', '--json'], {
            env: { ...process.env, MCP_SCALE_HOME: cluster.home },
          });
          return (JSON.parse(stdout) as { id: string }[]).some(
            (s) => s.id === (client.transport as { sessionId?: string }).sessionId,
          );
        },
        'the session to be listed from the new primary',
        30_000,
      );
      await client.close();
      cluster.info = after;
    },
  );

  it('stops every process, Redis ones included, and removes the sentinel config folder on SIGTERM', async () => {
    const dir = stateOf(cluster).privateRedisDir;
    expect(fs.existsSync(dir)).toBe(true);
    const pids = [
      cluster.info.gateway.pid,
      ...cluster.info.instances.map((w) => w.pid),
      ...redisPids(cluster),
    ];
    expect(await cluster.stop()).toBe(0);
    expect(await expectAllGone(pids)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('mcp-scale serve --redis ha killed with SIGKILL', () => {
  it('the next run stops the orphaned primary, replica and sentinels', async () => {
    const cluster = await startServe(['--instances', '1', '--backend-latency', '0', '--redis', 'ha']);
    const state = stateOf(cluster);
    expect(state.privateRedisPids.sort()).toEqual(redisPids(cluster).sort());
    cluster.process.kill('SIGKILL');
    expect(
      await expectAllGone([cluster.info.gateway.pid, ...cluster.info.instances.map((w) => w.pid)]),
    ).toEqual([]);
    for (const pid of state.privateRedisPids) expect(isProcessAlive(pid)).toBe(true);
    expect(findRunningCluster({ ...process.env, MCP_SCALE_HOME: cluster.home })).toBeUndefined();
    expect(await expectAllGone(state.privateRedisPids)).toEqual([]);
    expect(fs.existsSync(state.privateRedisDir)).toBe(false);
  });
});
