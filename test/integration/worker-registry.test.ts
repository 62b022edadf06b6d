import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegistry, WorkerRegistration } from '../../src/cluster/worker-registry.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { KeySchema } from '../../src/redis/keys.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestGateway, startTestWorkerHost, TEST_SECRET } from '../helpers/roles.js';
import { waitUntil } from '../helpers/wait.js';

describe('the worker registry only admits entries signed with the cluster secret', () => {
  let redis: LocalRedis;
  let client: RedisClient;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true });
  });
  afterAll(async () => {
    await closeRedis(client);
    await redis?.close();
  });

  it('a signed entry is read; a plain or foreign-signed one is rejected by key', async () => {
    const keys = new KeySchema('reg-sign:');
    const announcement = { id: 'w1', url: 'http://127.0.0.1:1/mcp', pid: 1, host: '127.0.0.1', startedAt: 1 };
    const registration = new WorkerRegistration(client, keys, announcement, TEST_SECRET, 60_000);
    registration.start();
    await waitUntil(async () => (await client.exists(keys.worker('w1'))) === 1, 'the entry');
    await client.set(keys.worker('evil'), JSON.stringify({ ...announcement, id: 'evil' }));
    const other = new WorkerRegistration(
      client,
      keys,
      { ...announcement, id: 'other' },
      'x'.repeat(40),
      60_000,
    );
    other.start();
    await waitUntil(async () => (await client.exists(keys.worker('other'))) === 1, 'the other entry');

    const read = await readRegistry(client, keys, TEST_SECRET);
    expect(read.workers.map((w) => w.id)).toEqual(['w1']);
    expect(read.rejected.sort()).toEqual([keys.worker('evil'), keys.worker('other')].sort());
    await registration.stop();
    await other.stop();
  });

  it('a gateway never routes to a forged worker', async () => {
    const prefix = 'reg-gw:';
    const keys = new KeySchema(prefix);
    const worker = await startTestWorkerHost({
      id: 'real',
      prefix,
      redisUrl: redis.url,
      advertiseUrl: 'auto',
    });
    await client.set(
      keys.worker('fake'),
      JSON.stringify({ id: 'fake', url: 'http://127.0.0.1:9/mcp', pid: 1, host: 'x', startedAt: 1 }),
    );
    const gateway = await startTestGateway({ workers: [], redisUrl: redis.url, prefix });
    try {
      await waitUntil(() => gateway.status().workers.some((w) => w.id === 'real'), 'the real worker');
      expect(gateway.status().workers.map((w) => w.id)).toEqual(['real']);
    } finally {
      await gateway.close();
      await worker.close();
    }
  });
});
