import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.js';
import { findFreePort } from '../../src/util/net.js';
import { scratchDir } from './cluster.js';
import { waitUntil } from './wait.js';

const run = promisify(execFile);

export interface TestRedisCluster {
  /** redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  nodes: LocalRedis[];
  close(): Promise<void>;
}

/**
 * A real three-primary Redis Cluster (no replicas) on free loopback ports:
 * three `redis-server --cluster-enabled yes`, joined by
 * `redis-cli --cluster create … --cluster-yes`, stopped by pid.
 */
export async function startTestRedisCluster(): Promise<TestRedisCluster> {
  const dir = scratchDir('mcp-scale-cluster-');
  const nodes: LocalRedis[] = [];
  const close = async () => {
    await Promise.all(nodes.map((node) => node.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      // The cluster bus port is given explicitly: port+10000 may be taken or out of range.
      const busPort = await findFreePort();
      nodes.push(
        await startLocalRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            path.join(dir, `nodes-${i}.conf`),
            '--cluster-node-timeout',
            '2000',
            '--dir',
            dir,
          ],
        }),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], { timeout: 30_000 });
    // Every node must agree the cluster is up (all 16384 slots served) before use.
    const clients = nodes.map((node) => new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true }));
    try {
      await waitUntil(
        async () => {
          const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO')));
          return infos.every((info) => String(info).includes('cluster_state:ok'));
        },
        'the Redis Cluster to reach cluster_state:ok',
        30_000,
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
    return { url: `redis-cluster://${addresses.join(',')}`, nodes, close };
  } catch (error) {
    await close();
    throw error;
  }
}
