import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Redis } from 'ioredis';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  cacheConfig,
  countingServer,
  startCacheWorker,
  type BackendCounts,
} from '../helpers/cache-fixtures.js';
import { connectV1, connectV2, jsonOf, textOf } from '../helpers/clients.js';
import { CLI } from '../helpers/cluster.js';
import {
  KEYS,
  modernCall,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
} from '../helpers/limits-fixtures.js';
import { startTestRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { startTestGateway, startWorkerProcess, type WorkerProcess } from '../helpers/roles.js';

const run = promisify(execFile);

/** `mcp-scale <args> --redis <cluster> --prefix <prefix>` as a real process; never throws on exit codes. */
async function cli(cluster: TestRedisCluster, prefix: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      CLI,
      ...args,
      '--redis',
      cluster.url,
      '--prefix',
      prefix,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** How many keys with this prefix each primary holds (proves the data is spread over slots). */
async function keysPerNode(cluster: TestRedisCluster, pattern: string): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const client = new Redis({ host: '127.0.0.1', port: node.port });
      try {
        return (await client.keys(pattern)).length;
      } finally {
        client.disconnect();
      }
    }),
  );
}

describe('the whole feature set on a real three-primary Redis Cluster', () => {
  let cluster: TestRedisCluster;
  beforeAll(async () => {
    cluster = await startTestRedisCluster();
  });
  afterAll(async () => {
    await cluster?.close();
  });

  describe('sessions and their admin commands', () => {
    const prefix = 'rc-sessions:';
    let workers: WorkerProcess[] = [];
    let gateway: Gateway;
    beforeAll(async () => {
      workers = await Promise.all(
        ['w1', 'w2'].map((id) => startWorkerProcess({ id, redisUrl: cluster.url, prefix })),
      );
      gateway = await startTestGateway({
        workers: workers.map((w) => ({ id: w.id, url: w.url })),
        redisUrl: cluster.url,
        prefix,
      });
    });
    afterAll(async () => {
      await gateway?.close();
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    });

    it('sessions are spread over the primaries and re-homed after their worker is SIGKILLed', async () => {
      const clients: { client: Client; instances: string[] }[] = [];
      for (let i = 0; i < 16; i++) {
        const instances: string[] = [];
        clients.push({ client: await connectV1(gateway.url, { instances }), instances });
      }
      for (const { client } of clients)
        expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } })).id).toBe(
          'p00001',
        );
      const perNode = await keysPerNode(cluster, `${prefix}session:*`);
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(16);
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);

      const victim = workers[0]!;
      const onVictim = clients.filter((c) => c.instances.at(-1) === victim.id);
      expect(onVictim.length).toBeGreaterThan(0);
      await victim.stop('SIGKILL');
      for (const { client, instances } of onVictim) {
        // get_product is read-only: safe to re-send on the new home, so no error at all.
        expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00002' } })).id).toBe(
          'p00002',
        );
        expect(instances.at(-1)).toBe('w2');
      }
      for (const { client } of clients)
        await client.callTool({ name: 'get_product', arguments: { id: 'p00003' } });

      // sessions list / show / kill through the CLI, with a redis-cluster:// URL.
      const listed = await cli(cluster, prefix, 'sessions', 'list', '--json');
      expect(listed.code).toBe(0);
      const sessions = JSON.parse(listed.stdout) as { id: string; worker: string }[];
      expect(sessions).toHaveLength(16);
      expect(new Set(sessions.map((s) => s.worker))).toEqual(new Set(['w2']));
      const target = (clients[0]!.client.transport as { sessionId?: string }).sessionId!;
      const shown = await cli(cluster, prefix, 'sessions', 'show', target, '--json');
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: target, worker: 'w2' });
      expect((await cli(cluster, prefix, 'sessions', 'kill', target)).code).toBe(0);
      // The invalidation travels over the cluster's pub/sub: the gateway forgets it.
      await expect(
        clients[0]!.client.callTool({ name: 'get_product', arguments: { id: 'p00004' } }),
      ).rejects.toThrow();
      expect(JSON.parse((await cli(cluster, prefix, 'sessions', 'list', '--json')).stdout)).toHaveLength(15);
      await Promise.all(clients.slice(1).map(({ client }) => client.close()));
    });
  });

  describe('rate limits and their admin commands', () => {
    const prefix = 'rc-limits:';
    let workers: WorkerHost[] = [];
    let gateways: Gateway[] = [];
    beforeAll(async () => {
      workers = await Promise.all(['w1', 'w2'].map((id) => startTestWorker(id, cluster.url, prefix)));
      const apiKeys = writeApiKeys();
      gateways = await Promise.all(
        [1, 2].map(() =>
          startLimitedGateway({
            workers,
            redisUrl: cluster.url,
            prefix,
            settings: { auth: 'apikey', apiKeys, rateLimit: '60/1m', limitsOnRedisFailure: 'closed' },
          }),
        ),
      );
    });
    afterAll(async () => {
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all(workers.map((w) => w.close()));
    });

    it('two gateways admit exactly 60 of 250 requests; limits list / show / reset work', async () => {
      const [a, b] = gateways as [Gateway, Gateway];
      for (const who of ['alice', 'bob'] as const) {
        const headers = { 'x-api-key': KEYS[who] };
        for (let i = 0; i < 50; i++) {
          const response = await modernCall((i % 2 ? b : a).url, i, 'get_product', { id: 'p00001' }, headers);
          expect(response.status).toBe(200);
        }
      }
      const race = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          modernCall(
            (i % 2 ? b : a).url,
            1000 + i,
            'get_product',
            { id: 'p00002' },
            { 'x-api-key': KEYS.alice },
          ),
        ),
      );
      expect(race.filter((r) => r.status === 200)).toHaveLength(10);
      expect(race.filter((r) => r.status === 429)).toHaveLength(190);

      const listed = JSON.parse((await cli(cluster, prefix, 'limits', 'list', '--json')).stdout) as {
        key: string;
        used: number;
      }[];
      expect(Object.fromEntries(listed.map((l) => [l.key, l.used]))).toEqual({
        'user:alice': 60,
        'user:bob': 50,
      });
      const shown = JSON.parse((await cli(cluster, prefix, 'limits', 'show', 'user:bob', '--json')).stdout);
      expect(shown).toMatchObject({ key: 'user:bob', used: 50, remaining: 10, limit: { points: 60 } });
      expect((await cli(cluster, prefix, 'limits', 'reset', 'user:alice')).code).toBe(0);
      const after = await modernCall(
        a.url,
        5000,
        'get_product',
        { id: 'p00003' },
        { 'x-api-key': KEYS.alice },
      );
      expect(after.status).toBe(200);
    });
  });

  describe('the tool-result cache and its admin commands', () => {
    const prefix = 'rc-cache:';
    let workers: WorkerHost[] = [];
    const counts: BackendCounts = {};
    beforeAll(async () => {
      workers = await Promise.all(
        ['w1', 'w2', 'w3'].map((id) =>
          startCacheWorker({
            id,
            prefix,
            redisUrl: cluster.url,
            serverFactory: countingServer('v2', counts, 400),
            cache: cacheConfig({ ttlMs: { slow_read: 60_000, lookup: 60_000 }, timeoutMs: 2000 }),
          }),
        ),
      );
    });
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.close()));
    });

    it('single-flight across three workers, entries on several primaries; cache stats / list / flush', async () => {
      const clients = await Promise.all(workers.flatMap((w) => [connectV2(w.url), connectV2(w.url)]));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          clients[i % clients.length]!.callTool({ name: 'slow_read', arguments: { key: 'same' } }),
        ),
      );
      expect(counts.slow_read).toBe(1);
      expect(new Set(results.map(textOf)).size).toBe(1);
      // Twelve distinct entries land in several slots, hence on several primaries.
      for (let i = 0; i < 12; i++) await clients[0]!.callTool({ name: 'lookup', arguments: { n: i } });
      expect(counts.lookup).toBe(12);
      for (let i = 0; i < 12; i++)
        await clients[i % clients.length]!.callTool({ name: 'lookup', arguments: { n: i } });
      expect(counts.lookup).toBe(12);
      const perNode = await keysPerNode(cluster, `${prefix}cache:*`);
      expect(perNode.reduce((x, y) => x + y, 0)).toBe(13);
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
      await Promise.all(clients.map((c) => c.close()));

      const stats = await cli(cluster, prefix, 'cache', 'stats', '--json');
      expect(stats.code).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ entries: 13 });
      const listed = JSON.parse(
        (await cli(cluster, prefix, 'cache', 'list', '--tool', 'lookup', '--json')).stdout,
      );
      expect(listed).toHaveLength(12);
      const flushed = await cli(cluster, prefix, 'cache', 'flush', '--tool', 'lookup', '--yes');
      expect(flushed.stdout.trim()).toBe('removed 12 cache entries (tool lookup)');
      expect((await keysPerNode(cluster, `${prefix}cache:*`)).reduce((x, y) => x + y, 0)).toBe(1);
    });
  });
});
