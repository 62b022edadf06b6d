import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/redis/connection.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { post } from '../helpers/limits-fixtures.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';

/**
 * Issue 19 item 6 with real processes: `serve`'s private Redis requires a
 * generated password (kept in the 0600 ready and state files, never in a
 * banner, a log, a status page or anyone's argv), and its workers refuse
 * requests no gateway signed unless started with --direct-workers.
 */
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

describe('serve: private Redis password and unsigned requests to worker ports', () => {
  const clusters: TestCluster[] = [];
  afterAll(async () => {
    for (const cluster of clusters) await cluster.stop();
  });

  it('the private redis-server requires a generated password; only the 0600 files hold it', async () => {
    const cluster = await startServe(['--instances', '2']);
    clusters.push(cluster);
    const { url, mode } = cluster.info.redis;
    expect(mode).toBe('private');
    const password = /^redis:\/\/:([0-9a-f]{64})@127\.0\.0\.1:\d+$/.exec(url ?? '')?.[1];
    expect(password).toBeDefined();

    // Without the password Redis answers NOAUTH: nobody can poison another user's cached result.
    const port = Number(new URL(url!).port);
    const anonymous = connectRedis(`redis://127.0.0.1:${port}`, { offlineQueue: true });
    anonymous.on('error', () => {});
    await expect(anonymous.set('mcp-scale:cache:poison', 'x')).rejects.toThrow(/NOAUTH/);
    await closeRedis(anonymous);
    const authorized = connectRedis(url!, { offlineQueue: true });
    expect(await authorized.ping()).toBe('PONG');
    await closeRedis(authorized);

    // The cluster works with it.
    const client = await connectV1(cluster.url);
    expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } }))).toMatchObject(
      {
        id: 'p00001',
      },
    );
    await client.close();

    // 0600 files hold it; nothing else shows it.
    expect(fs.statSync(cluster.readyFile).mode & 0o777).toBe(0o600);
    const stateDir = path.join(cluster.home, 'clusters');
    const stateFiles = fs.readdirSync(stateDir).map((name) => path.join(stateDir, name));
    expect(stateFiles.length).toBe(1);
    expect(fs.statSync(stateFiles[0]!).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(stateFiles[0]!, 'utf8')).toContain(password!);
    expect(cluster.stdout() + cluster.stderr()).not.toContain(password!);
    expect(cluster.stdout()).toContain(':***@');
    const status = await fetch(cluster.url.replace(/\/mcp$/, '/_mcp-scale/status')).then((r) => r.text());
    expect(status).not.toContain(password!);
    expect(status).toContain(':***@');
    const pids = [
      cluster.info.gateway.pid,
      ...cluster.info.instances.map((i) => i.pid),
      cluster.process.pid!,
    ];
    for (const pid of pids) expect(cmdline(pid)).not.toContain(password!);
    const redisPid = (JSON.parse(fs.readFileSync(stateFiles[0]!, 'utf8')) as { privateRedisPid: number })
      .privateRedisPid;
    expect(cmdline(redisPid)).not.toContain(password!);

    // A worker port: unsigned requests are refused (the gateway's auth and limits cannot be skipped).
    const worker = cluster.info.instances[0]!;
    const unsigned = await post(worker.url, initialize);
    expect(unsigned.status).toBe(403);
    expect(JSON.stringify(unsigned.json)).toContain('--direct-workers');
  });

  it('serve --direct-workers: worker ports serve unsigned requests (benchmarking a worker itself)', async () => {
    const cluster = await startServe(['--instances', '1', '--redis', 'memory', '--direct-workers']);
    clusters.push(cluster);
    const worker = cluster.info.instances[0]!;
    expect((await post(worker.url, initialize)).status).toBe(200);
    expect((await post(cluster.url, initialize)).status).toBe(200);
  });
});
