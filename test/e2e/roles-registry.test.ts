import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { CLI, scratchDir, waitForReadyFile } from '../helpers/cluster.js';
import { startTestRedis } from '../helpers/redis.js';
import { TEST_SECRET } from '../helpers/roles.js';
import { waitUntil } from '../helpers/wait.js';

interface RoleReady {
  role: string;
  id: string;
  url: string;
  port: number;
  pid: number;
}

/** Runs one role as compose or Kubernetes would: its own process, configured by flags and env. */
async function startRole(
  args: string[],
  readyFile: string,
): Promise<{ child: ChildProcess; ready: RoleReady }> {
  const child = spawn(process.execPath, [CLI, ...args, '--ready-file', readyFile], {
    env: { ...process.env, MCP_SCALE_CLUSTER_SECRET: TEST_SECRET },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, ready: await waitForReadyFile<RoleReady>(readyFile, child) };
}

describe('the three roles run separately: workers register, a gateway finds them in Redis', () => {
  const dir = scratchDir();
  const prefix = 'roles:';
  let redis: LocalRedis;
  const children: ChildProcess[] = [];
  let gatewayUrl: string;
  const workers: RoleReady[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    for (const id of ['alpha', 'beta']) {
      const { child, ready } = await startRole(
        [
          'worker',
          '--id',
          id,
          '--port',
          '0',
          '--redis',
          redis.url,
          '--prefix',
          prefix,
          '--backend-latency',
          '0',
        ],
        path.join(dir, `${id}.json`),
      );
      children.push(child);
      workers.push(ready);
    }
    const { child, ready } = await startRole(
      ['gateway', '--port', '0', '--redis', redis.url, '--prefix', prefix],
      path.join(dir, 'gateway.json'),
    );
    children.push(child);
    gatewayUrl = ready.url;
  });
  afterAll(async () => {
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = running.map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(exited);
    await redis?.close();
  });

  it('the gateway discovers both workers through the registry and serves both eras', async () => {
    const status = () => fetch(gatewayUrl.replace('/mcp', '/_mcp-scale/status')).then((r) => r.json());
    await waitUntil(async () => (await status()).workers.length === 2, 'gateway sees two workers');
    expect((await status()).workers.map((w: { id: string }) => w.id)).toEqual(['alpha', 'beta']);
    const v1 = await connectV1(gatewayUrl);
    expect(jsonOf(await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } })).id).toBe('p00001');
    const v2 = await connectV2(gatewayUrl);
    expect(v2.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    await Promise.all([v1.close(), v2.close()]);
  });

  it('a worker that stops beating drops out of the registry and the gateway', async () => {
    const status = () => fetch(gatewayUrl.replace('/mcp', '/_mcp-scale/status')).then((r) => r.json());
    process.kill(workers[1]!.pid, 'SIGKILL');
    await waitUntil(
      async () => (await status()).workers.length === 1,
      'gateway forgets the dead worker',
      20_000,
    );
    expect((await status()).workers.map((w: { id: string }) => w.id)).toEqual(['alpha']);
    const client = await connectV1(gatewayUrl);
    expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00002' } })).id).toBe(
      'p00002',
    );
    await client.close();
  });

  it('SIGTERM stops a role cleanly, removing its ready file', async () => {
    const worker = children[0]!;
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(dir, 'alpha.json'))).toBe(false);
  });
});
