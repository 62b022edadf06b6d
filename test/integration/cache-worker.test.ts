import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCacheStore } from '../../src/cache/cache-store.js';
import { invalidateEntries } from '../../src/cache/invalidation.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { KeySchema } from '../../src/redis/keys.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { scanKeys } from '../../src/redis/scan.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  cacheConfig,
  countingServer,
  startCacheWorker,
  type BackendCounts,
} from '../helpers/cache-fixtures.js';
import { connectV1, connectV2, jsonOf, textOf } from '../helpers/clients.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { startWorkerProcess } from '../helpers/roles.js';

const marker = (result: unknown) =>
  (result as { _meta?: Record<string, unknown> })._meta?.['mcp-scale/cache'];

async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for await (const key of scanKeys(redis, pattern)) found.push(key);
  return found.sort();
}

/** One outcome's count of mcp_scale_worker_cache_total on a worker's /metrics. */
async function cacheCount(worker: WorkerHost, outcome: string, tool?: string): Promise<number> {
  const text = await fetch(worker.url.replace('/mcp', '/metrics')).then((r) => r.text());
  return text
    .split('\n')
    .filter(
      (line) => line.startsWith('mcp_scale_worker_cache_total{') && line.includes(`outcome="${outcome}"`),
    )
    .filter((line) => tool === undefined || line.includes(`tool="${tool}"`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('the tool-result cache in the worker host', () => {
  let redis: LocalRedis;
  let client: RedisClient;
  let workers: WorkerHost[] = [];
  let prefixCounter = 0;
  const nextPrefix = () => `cw${++prefixCounter}:`;
  const start = async (...args: Parameters<typeof startCacheWorker>) => {
    const worker = await startCacheWorker(...args);
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true, connectionName: 'cache-test' });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
  });
  afterAll(async () => {
    await closeRedis(client);
    await redis?.close();
  });

  it('caches a read-only demo tool per era with its TTL, and answers again once it expired', async () => {
    const prefix = nextPrefix();
    const worker = await start({ id: 'w1', prefix, redisUrl: redis.url });
    const v1 = await connectV1(worker.url);
    const first = await v1.callTool({ name: 'get_product', arguments: { id: 'p00042' } });
    const second = await v1.callTool({ name: 'get_product', arguments: { id: 'p00042' } });
    expect([marker(first), marker(second)]).toEqual(['miss', 'hit']);
    expect(textOf(second)).toBe(textOf(first));
    expect(jsonOf(second).id).toBe('p00042');

    const [legacyKey] = await keysMatching(client, `${prefix}cache:get_product:*`);
    expect(legacyKey).toMatch(new RegExp(`^${prefix}cache:get_product:public:2025:[0-9a-f]{32}$`));
    const pttl = await client.pttl(legacyKey!);
    // The demo default for get_product is 5 minutes.
    expect(pttl).toBeGreaterThan(240_000);
    expect(pttl).toBeLessThanOrEqual(300_000);

    const v2 = await connectV2(worker.url);
    const modern = [
      await v2.callTool({ name: 'get_product', arguments: { id: 'p00042' } }),
      await v2.callTool({ name: 'get_product', arguments: { id: 'p00042' } }),
    ];
    expect(modern.map(marker)).toEqual(['miss', 'hit']);
    expect(await keysMatching(client, `${prefix}cache:get_product:public:2026:*`)).toHaveLength(1);

    // Expire the 2025 entry now (as Redis does at its TTL): the next call goes to the server again.
    await client.pexpire(legacyKey!, 1);
    await waitUntil(async () => (await client.exists(legacyKey!)) === 0, 'the entry expired', 10_000);
    expect(marker(await v1.callTool({ name: 'get_product', arguments: { id: 'p00042' } }))).toBe('miss');
    expect(await client.pttl(legacyKey!)).toBeGreaterThan(240_000);
    await Promise.all([v1.close(), v2.close()]);
  });

  it('a `mcp-scale worker` process takes --cache-ttl: given TTLs replace the demo defaults', async () => {
    const prefix = nextPrefix();
    const worker = await startWorkerProcess({
      id: 'wp',
      redisUrl: redis.url,
      prefix,
      args: ['--cache-ttl', 'get_product=90s', '--cache-timeout', '200ms', '--direct-workers'],
    });
    try {
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${worker.port}/readyz`)).status === 200,
        'the worker is ready',
        10_000,
      );
      const v2 = await connectV2(worker.url);
      const products = [
        await v2.callTool({ name: 'get_product', arguments: { id: 'p00009' } }),
        await v2.callTool({ name: 'get_product', arguments: { id: 'p00009' } }),
      ];
      expect(products.map(marker)).toEqual(['miss', 'hit']);
      const [key] = await keysMatching(client, `${prefix}cache:get_product:public:2026:*`);
      const pttl = await client.pttl(key!);
      expect(pttl).toBeGreaterThan(60_000);
      expect(pttl).toBeLessThanOrEqual(90_000);
      // search_products has a demo default, but --cache-ttl replaced the defaults.
      const search = await v2.callTool({ name: 'search_products', arguments: { query: 'lamp' } });
      expect(marker(search)).toBeUndefined();
      expect(await keysMatching(client, `${prefix}cache:search_products:*`)).toEqual([]);
      await v2.close();
    } finally {
      await worker.stop();
    }
  });

  it('keys do not depend on the order of arguments', async () => {
    const prefix = nextPrefix();
    const counts: BackendCounts = {};
    const worker = await start({
      id: 'w1',
      prefix,
      redisUrl: redis.url,
      serverFactory: countingServer('v2', counts),
      cache: cacheConfig({ ttlMs: { lookup: 60_000 } }),
    });
    const v2 = await connectV2(worker.url);
    const call = (args: Record<string, unknown>) => v2.callTool({ name: 'lookup', arguments: args });
    const first = await call({ a: 1, b: 2, nested: { x: 1, y: [1, 2] } });
    const reordered = await call({ nested: { y: [1, 2], x: 1 }, b: 2, a: 1 });
    expect([marker(first), marker(reordered)]).toEqual(['miss', 'hit']);
    expect(textOf(reordered)).toBe(textOf(first));
    expect(counts.lookup).toBe(1);
    expect(await keysMatching(client, `${prefix}cache:lookup:*`)).toHaveLength(1);
    expect(marker(await call({ a: 2, b: 1 }))).toBe('miss');
    expect(counts.lookup).toBe(2);
    await v2.close();
  });

  it('never caches errors or tools that are not read-only, unless forced (SDK 1.x server)', async () => {
    const prefix = nextPrefix();
    const counts: BackendCounts = {};
    const ttlMs = { lookup: 60_000, write_thing: 60_000, fail_read: 60_000 };
    const worker = await start({
      id: 'w1',
      prefix,
      redisUrl: redis.url,
      serverFactory: countingServer('v1', counts),
      cache: cacheConfig({ ttlMs }),
    });
    expect(worker.sdk).toBe('v1');
    const v1 = await connectV1(worker.url);
    const writes = [
      await v1.callTool({ name: 'write_thing', arguments: { key: 'k' } }),
      await v1.callTool({ name: 'write_thing', arguments: { key: 'k' } }),
    ];
    expect(counts.write_thing).toBe(2);
    expect(writes.map(marker)).toEqual([undefined, undefined]);

    const failures = [
      await v1.callTool({ name: 'fail_read', arguments: { key: 'k' } }),
      await v1.callTool({ name: 'fail_read', arguments: { key: 'k' } }),
    ];
    expect(failures.map((r) => r.isError)).toEqual([true, true]);
    expect(failures.map(marker)).toEqual(['miss', 'miss']);
    expect(counts.fail_read).toBe(2);

    // Arguments the schema refuses: the server answers an error, nothing is stored.
    const refused = await v1
      .callTool({ name: 'lookup', arguments: { a: 'not a number' } })
      .catch((e: Error) => e);
    expect(refused instanceof Error || (refused as { isError?: boolean }).isError === true).toBe(true);
    expect(counts.lookup).toBeUndefined();
    expect(await keysMatching(client, `${prefix}cache:*`)).toEqual([]);

    // The operator may force a tool that is not annotated read-only.
    const forcedPrefix = nextPrefix();
    const forced = await start({
      id: 'w2',
      prefix: forcedPrefix,
      redisUrl: redis.url,
      serverFactory: countingServer('v1', counts),
      cache: cacheConfig({ ttlMs, force: ['write_thing'] }),
    });
    const again = await connectV1(forced.url);
    const forcedCalls = [
      await again.callTool({ name: 'write_thing', arguments: { key: 'k' } }),
      await again.callTool({ name: 'write_thing', arguments: { key: 'k' } }),
    ];
    expect(forcedCalls.map(marker)).toEqual(['miss', 'hit']);
    expect(counts.write_thing).toBe(3);
    await Promise.all([v1.close(), again.close()]);
  });

  it('50 concurrent identical misses across three workers make one backend call', async () => {
    const prefix = nextPrefix();
    const counts: BackendCounts = {};
    const three = await Promise.all(
      ['w1', 'w2', 'w3'].map((id) =>
        start({
          id,
          prefix,
          redisUrl: redis.url,
          serverFactory: countingServer('v2', counts, 400),
          // 50 calls at once load this process: a generous store timeout keeps
          // this test about single-flight, not about bypassing a slow Redis.
          cache: cacheConfig({ ttlMs: { slow_read: 60_000 }, timeoutMs: 2000 }),
        }),
      ),
    );
    const clients = await Promise.all(three.flatMap((w) => [connectV2(w.url), connectV2(w.url)]));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        clients[i % clients.length]!.callTool({ name: 'slow_read', arguments: { key: 'same' } }),
      ),
    );
    expect(counts.slow_read).toBe(1);
    expect(new Set(results.map(textOf)).size).toBe(1);
    const markers = results.map(marker);
    expect(markers.filter((m) => m === 'miss')).toHaveLength(1);
    expect(markers.filter((m) => m === 'hit')).toHaveLength(49);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('update_inventory invalidates that product’s get_inventory entries on every worker', async () => {
    const prefix = nextPrefix();
    const [w1, w2] = await Promise.all([
      start({ id: 'w1', prefix, redisUrl: redis.url }),
      start({ id: 'w2', prefix, redisUrl: redis.url }),
    ]);
    const [a, b] = await Promise.all([connectV1(w1.url), connectV2(w2.url)]);
    const before = await a.callTool({ name: 'get_inventory', arguments: { id: 'p00005' } });
    const other = await a.callTool({ name: 'get_inventory', arguments: { id: 'p00006' } });
    const cached = await a.callTool({ name: 'get_inventory', arguments: { id: 'p00005' } });
    expect([marker(before), marker(cached)]).toEqual(['miss', 'hit']);
    expect(marker(await b.callTool({ name: 'get_inventory', arguments: { id: 'p00005' } }))).toBe('miss');
    expect(await keysMatching(client, `${prefix}cache:get_inventory:*`)).toHaveLength(3);

    await b.callTool({ name: 'update_inventory', arguments: { id: 'p00005', delta: 3 } });
    const after = await a.callTool({ name: 'get_inventory', arguments: { id: 'p00005' } });
    expect(marker(after)).toBe('miss');
    expect(jsonOf(after).stock).toBe(Number(jsonOf(before).stock) + 3);
    // Another product's entry stays.
    const untouched = await a.callTool({ name: 'get_inventory', arguments: { id: 'p00006' } });
    expect(marker(untouched)).toBe('hit');
    expect(textOf(untouched)).toBe(textOf(other));
    await Promise.all([a.close(), b.close()]);
  });

  it('library invalidation by tool and argument pattern (SCAN + UNLINK)', async () => {
    const prefix = nextPrefix();
    const worker = await start({ id: 'w1', prefix, redisUrl: redis.url });
    const v1 = await connectV1(worker.url);
    for (const args of [
      { query: 'lamp', limit: 10 },
      { query: 'kettle', limit: 10 },
      { query: 'lamp', limit: 5 },
    ]) {
      await v1.callTool({ name: 'search_products', arguments: args });
    }
    await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    const store = new RedisCacheStore(client);
    const keys = new KeySchema(prefix);
    const dry = await invalidateEntries(
      store,
      keys,
      { tool: 'search_products', args: { query: 'lamp' } },
      { dryRun: true },
    );
    expect(dry).toEqual({ matched: 2, removed: 0 });
    expect(
      await invalidateEntries(store, keys, { tool: 'search_products', args: { query: 'lamp' } }),
    ).toEqual({
      matched: 2,
      removed: 2,
    });
    expect(await keysMatching(client, `${prefix}cache:search_products:*`)).toHaveLength(1);
    expect(
      marker(await v1.callTool({ name: 'search_products', arguments: { query: 'kettle', limit: 10 } })),
    ).toBe('hit');
    expect(
      marker(await v1.callTool({ name: 'search_products', arguments: { query: 'lamp', limit: 10 } })),
    ).toBe('miss');
    expect(await keysMatching(client, `${prefix}cache:get_product:*`)).toHaveLength(1);
    // Exact arguments: the keys are computed (argument order does not matter), nothing is scanned.
    expect(
      await invalidateEntries(store, keys, {
        tool: 'search_products',
        exactArgs: { limit: 10, query: 'kettle' },
      }),
    ).toEqual({ matched: 1, removed: 1 });
    // Only the lamp search re-filled above is left.
    expect(await keysMatching(client, `${prefix}cache:search_products:*`)).toHaveLength(1);
    expect(
      await invalidateEntries(store, keys, { tool: 'get_product', exactArgs: { id: 'p00002' } }),
    ).toEqual({
      matched: 0,
      removed: 0,
    });
    expect(await keysMatching(client, `${prefix}cache:get_product:*`)).toHaveLength(1);
    await v1.close();
  });

  it('stateless 2025 serving (--sessions stateless) is cached too', async () => {
    const prefix = nextPrefix();
    const worker = await start({ id: 'w1', prefix, redisUrl: redis.url, sessions: 'stateless' });
    const v1 = await connectV1(worker.url);
    expect(v1.transport?.sessionId).toBeUndefined();
    const results = [
      await v1.callTool({ name: 'search_products', arguments: { query: 'kettle' } }),
      await v1.callTool({ name: 'search_products', arguments: { query: 'kettle' } }),
    ];
    expect(results.map(marker)).toEqual(['miss', 'hit']);
    expect(await keysMatching(client, `${prefix}cache:search_products:public:2025:*`)).toHaveLength(1);
    await v1.close();
  });

  it('memory mode: each worker caches in its own memory', async () => {
    const worker = await start({ id: 'w1', prefix: nextPrefix() });
    const v2 = await connectV2(worker.url);
    const results = [
      await v2.callTool({ name: 'get_product', arguments: { id: 'p00003' } }),
      await v2.callTool({ name: 'get_product', arguments: { id: 'p00003' } }),
    ];
    expect(results.map(marker)).toEqual(['miss', 'hit']);
    expect(await cacheCount(worker, 'hit', 'get_product')).toBe(1);
    await v2.close();
  });
});

describe('Redis trouble never fails a tool call', () => {
  let redis: LocalRedis;
  let worker: WorkerHost | undefined;
  afterAll(async () => {
    await worker?.close();
    await redis?.close();
  });

  it('bypasses a stalled Redis after --cache-timeout and a stopped one at once', async () => {
    redis = await startTestRedis();
    worker = await startCacheWorker({
      id: 'w1',
      prefix: 'bypass:',
      redisUrl: redis.url,
      cache: cacheConfig({ timeoutMs: 50 }),
    });
    const v1 = await connectV1(worker.url);
    // With a 50 ms budget a loaded machine can bypass the very first store: wait for the entry
    // to be cached (a hit) rather than assuming the first call stored it.
    await waitUntil(
      async () => marker(await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } })) === 'hit',
      'the first entry is cached',
      10_000,
    );

    process.kill(redis.pid, 'SIGSTOP');
    try {
      const started = performance.now();
      const stalled = await v1.callTool({ name: 'get_product', arguments: { id: 'p00002' } });
      const elapsed = performance.now() - started;
      expect(jsonOf(stalled).id).toBe('p00002');
      expect(marker(stalled)).toBe('miss');
      // Far below the 1 s Redis command timeout: the cache gave up after 50 ms.
      expect(elapsed).toBeLessThan(900);
      expect(await cacheCount(worker, 'bypass')).toBeGreaterThanOrEqual(1);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    // Once Redis answers again (and the short breaker has passed), hits come back.
    await waitUntil(
      async () => marker(await v1.callTool({ name: 'get_product', arguments: { id: 'p00001' } })) === 'hit',
      'cache hits again',
      10_000,
    );

    await redis.close();
    const bypassedBefore = await cacheCount(worker, 'bypass');
    const started = performance.now();
    const gone = await v1.callTool({ name: 'get_product', arguments: { id: 'p00003' } });
    expect(jsonOf(gone).id).toBe('p00003');
    expect(performance.now() - started).toBeLessThan(900);
    expect(await cacheCount(worker, 'bypass')).toBeGreaterThan(bypassedBefore);
    await v1.close();
  });
});
