import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunningCluster } from '../../src/cluster/state-file.js';
import { isProcessAlive } from '../../src/util/process.js';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { expectAllGone, startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';

describe('mcp-scale serve: banner, ready file, state file, restart, clean shutdown', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--backend-latency', '0']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('prints one banner naming the endpoint, the workers and the Redis mode', () => {
    const banner = cluster.stdout();
    expect(banner).toContain(`MCP endpoint  ${cluster.url}`);
    for (const worker of cluster.info.instances)
      expect(banner).toContain(`${worker.id} pid ${worker.pid} port ${worker.port}`);
    // Password-protected, and the banner never shows the password.
    expect(banner).toMatch(/Redis\s+private redis-server on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
  });

  it('writes the ready file and the state file', () => {
    expect(cluster.info.redis.mode).toBe('private');
    expect(cluster.info.instances.map((w) => w.id)).toEqual(['w1', 'w2']);
    const stateFile = path.join(cluster.home, 'clusters', `${cluster.process.pid}.json`);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({
      pid: cluster.process.pid,
      url: cluster.url,
      redis: { mode: 'private', url: cluster.info.redis.url },
    });
  });

  it('serves both wire eras through the gateway', async () => {
    const v1 = await connectV1(cluster.url);
    expect(jsonOf(await v1.callTool({ name: 'get_product', arguments: { id: 'p00007' } })).id).toBe('p00007');
    await v1.close();
    const v2 = await connectV2(cluster.url);
    expect(v2.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(jsonOf(await v2.callTool({ name: 'get_inventory', arguments: { id: 'p00007' } })).id).toBe(
      'p00007',
    );
    await v2.close();
  });

  it('restarts a crashed worker and keeps serving', async () => {
    const victim = cluster.info.instances[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const info = await waitForReadyInfo(
      cluster.readyFile,
      (i) => i.instances[0]!.pid !== victim.pid && i.instances[0]!.pid > 0,
    );
    expect(info.instances[0]!.port).toBe(victim.port);
    const health = await fetch(`http://127.0.0.1:${victim.port}/healthz`).then((r) => r.json());
    expect(health).toMatchObject({ id: 'w1', pid: info.instances[0]!.pid });
    const v1 = await connectV1(cluster.url);
    for (let i = 0; i < 4; i++) await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    await v1.close();
  });

  it('drains on SIGTERM and leaves nothing running', async () => {
    const info = JSON.parse(fs.readFileSync(cluster.readyFile, 'utf8'));
    const redisPort = Number(new URL(info.redis.url).port);
    const pids = [info.gateway.pid, ...info.instances.map((w: { pid: number }) => w.pid)];
    const code = await cluster.stop();
    expect(code).toBe(0);
    expect(await expectAllGone(pids)).toEqual([]);
    expect(fs.existsSync(path.join(cluster.home, 'clusters', `${cluster.process.pid}.json`))).toBe(false);
    expect(fs.existsSync(cluster.readyFile)).toBe(false);
    // The private Redis is gone too: nothing listens on its port.
    await expect(
      fetch(`http://127.0.0.1:${redisPort}/`, { signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();
  });
});

describe('mcp-scale serve killed with SIGKILL', () => {
  it('its roles exit by themselves and the next run stops its orphaned private Redis', async () => {
    const cluster = await startServe(['--instances', '1', '--backend-latency', '0']);
    const info = cluster.info;
    const redisPid = JSON.parse(
      fs.readFileSync(path.join(cluster.home, 'clusters', `${cluster.process.pid}.json`), 'utf8'),
    ).privateRedisPid as number;
    expect(redisPid).toBeGreaterThan(0);
    cluster.process.kill('SIGKILL');
    // Workers and the gateway notice their IPC channel closing and leave.
    expect(await expectAllGone([info.gateway.pid, ...info.instances.map((w) => w.pid)])).toEqual([]);
    expect(isProcessAlive(redisPid)).toBe(true);
    // Any later serve or admin command reaps what the dead supervisor left.
    expect(findRunningCluster({ ...process.env, MCP_SCALE_HOME: cluster.home })).toBeUndefined();
    expect(await expectAllGone([redisPid])).toEqual([]);
  });
});
