import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { scanKeys } from '../../src/redis/scan.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { cacheConfig, startCacheWorker } from '../helpers/cache-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'lockfaults:';

describe('a single-flight lock granted after its caller gave up is released, not left to expire', () => {
  let redis: LocalRedis;
  let admin: RedisClient;
  let worker: WorkerHost;
  beforeAll(async () => {
    redis = await startTestRedis();
    admin = connectRedis(redis.url, { offlineQueue: true, commandTimeoutMs: 0 });
    worker = await startCacheWorker({
      id: 'w1',
      prefix: PREFIX,
      redisUrl: redis.url,
      cache: cacheConfig({ ttlMs: { get_product: 60_000 }, timeoutMs: 50 }),
    });
  });
  afterAll(async () => {
    await worker?.close();
    admin?.disconnect();
    await redis?.close();
  });

  const locks = async () => {
    const found: string[] = [];
    for await (const key of scanKeys(admin, `${PREFIX}cache-lock:*`)) found.push(key);
    return found;
  };

  it('the call bypasses the stalled Redis, and the late lock is let go at once', async () => {
    const client = await connectV1(worker.url);
    // Writes (SET NX, the lock) stall for 300 ms; reads go on. The caller's
    // lock request outlives its 50 ms cache timeout and it calls the server.
    await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
    const result = await client.callTool({ name: 'get_product', arguments: { id: 'p00077' } });
    expect(jsonOf(result).id).toBe('p00077');
    expect((result._meta as Record<string, unknown>)['mcp-scale/cache']).toBe('miss');
    // Any write waits for the pause to end: after it, Redis has granted the late lock.
    await admin.set(`${PREFIX}probe`, '1');
    const pauseEnded = Date.now();
    let stillLocked = await locks();
    while (stillLocked.length > 0 && Date.now() - pauseEnded < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      stillLocked = await locks();
    }
    expect(stillLocked).toEqual([]);
    // Released on the grant, well before the lock's own 1.5 s lifetime would end it.
    expect(Date.now() - pauseEnded).toBeLessThan(750);
    // And the next identical call fills the cache normally.
    expect((await client.callTool({ name: 'get_product', arguments: { id: 'p00077' } }))._meta).toMatchObject(
      { 'mcp-scale/cache': 'miss' },
    );
    // With a 50 ms budget a loaded machine can bypass that store too: wait for the hit.
    await waitUntil(
      async () =>
        (await client.callTool({ name: 'get_product', arguments: { id: 'p00077' } }))._meta?.[
          'mcp-scale/cache'
        ] === 'hit',
      'the entry is cached',
      10_000,
    );
    await client.close();
  });
});
