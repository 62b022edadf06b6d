import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { connectRedis, closeRedis, type RedisClient } from '../../src/redis/connection.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  KEYS,
  modernCall,
  parseLimitList,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';

const call = (url: string, id: number, headers: Record<string, string> = {}) =>
  modernCall(url, id, 'get_product', { id: 'p00001' }, headers);

/** Which limit keys exist under a prefix (what the limiter keyed requests on). */
async function limitKeys(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}rl:*`); // test-only, tiny private Redis
  return keys
    .map((key) => key.slice(`${prefix}rl:`.length))
    .filter((key) => key !== '_policies')
    .sort();
}

describe('who a limit is keyed on: user, client IP, X-Forwarded-For', () => {
  let redis: LocalRedis;
  let client: RedisClient;
  let worker: WorkerHost;
  const gateways: Gateway[] = [];
  const start = async (prefix: string, settings: Record<string, unknown>) => {
    const gateway = await startLimitedGateway({ workers: [worker], redisUrl: redis.url, prefix, settings });
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true });
    worker = await startTestWorker('w1', redis.url, 'rl-keys:');
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await worker?.close();
    await closeRedis(client);
    await redis?.close();
  });

  it('--auth none without --trust-proxy: keyed on the socket address; X-Forwarded-For cannot pick a key', async () => {
    const gateway = await start('k-none:', { rateLimit: '3/1m' });
    for (let i = 1; i <= 3; i++) {
      expect((await call(gateway.url, i, { 'x-forwarded-for': `10.0.0.${i}` })).status).toBe(200);
    }
    const limited = await call(gateway.url, 4, { 'x-forwarded-for': '10.9.9.9' });
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: { data: { policy: 'user' } } });
    expect(await limitKeys(client, 'k-none:')).toEqual(['user:127.0.0.1']);
  });

  it('--auth none with --trust-proxy: each forwarded client address has its own budget', async () => {
    const gateway = await start('k-proxy:', { rateLimit: '3/1m', trustProxy: true });
    // What a proxy sends: the client's address (rightmost untrusted), after anything the client wrote.
    const from = (ip: string) => ({ 'x-forwarded-for': `6.6.6.6, ${ip}, 10.0.0.9` });
    for (let i = 1; i <= 3; i++) expect((await call(gateway.url, i, from('192.0.2.1'))).status).toBe(200);
    expect((await call(gateway.url, 4, from('192.0.2.1'))).status).toBe(429);
    const other = await call(gateway.url, 5, from('192.0.2.2'));
    expect(other.status).toBe(200);
    expect(parseLimitList(other.headers.get('ratelimit')).user).toMatchObject({ r: 2 });
    expect(await limitKeys(client, 'k-proxy:')).toEqual(['user:192.0.2.1', 'user:192.0.2.2']);
  });

  it('--ip-rate-limit with --auth none counts every request per IP, beside the per-user budget', async () => {
    const gateway = await start('k-ip:', { rateLimit: '5/1m', ipRateLimit: '2/1m' });
    const first = await call(gateway.url, 1);
    expect(first.headers.get('ratelimit-policy')).toBe('"user";q=5;w=60, "ip";q=2;w=60');
    expect((await call(gateway.url, 2)).status).toBe(200);
    const limited = await call(gateway.url, 3);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: { data: { policy: 'ip' } } });
    expect(await limitKeys(client, 'k-ip:')).toEqual(['ip:127.0.0.1', 'user:127.0.0.1']);
    // The user budget got its point back: the refused request never ran.
    expect(await client.get('k-ip:rl:user:127.0.0.1')).toBe('2');
  });

  it('with API keys, users from one address have separate budgets; failed credentials count per IP (401, then 429)', async () => {
    const gateway = await start('k-users:', {
      auth: 'apikey',
      apiKeys: writeApiKeys('lines'),
      rateLimit: '3/1m',
      ipRateLimit: '2/1m',
    });
    for (let i = 1; i <= 3; i++)
      expect((await call(gateway.url, i, { 'x-api-key': KEYS.alice })).status).toBe(200);
    expect((await call(gateway.url, 4, { 'x-api-key': KEYS.alice })).status).toBe(429);
    const bob = await call(gateway.url, 5, { authorization: `Bearer ${KEYS.bob}` });
    expect(bob.status).toBe(200);
    // An authenticated user is never charged to the IP budget.
    expect(bob.headers.get('ratelimit-policy')).toBe('"user";q=3;w=60');

    const wrong = await call(gateway.url, 6, { 'x-api-key': 'not-a-key-at-all' });
    expect(wrong.status).toBe(401);
    const missing = await call(gateway.url, 7);
    expect(missing.status).toBe(401);
    const third = await call(gateway.url, 8, { 'x-api-key': 'still-not-a-key' });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.json).toMatchObject({ id: null, error: { code: -32029, data: { policy: 'ip' } } });
    // Valid credentials from the same address still work.
    expect((await call(gateway.url, 9, { 'x-api-key': KEYS.bob })).status).toBe(200);
    expect(await limitKeys(client, 'k-users:')).toEqual(['ip:127.0.0.1', 'user:alice', 'user:bob']);
  });

  it('--block: going over blocks the key for the block duration, longer than the window', async () => {
    const gateway = await start('k-block:', { rateLimit: '2/1m', block: '5m' });
    expect((await call(gateway.url, 1)).status).toBe(200);
    expect((await call(gateway.url, 2)).status).toBe(200);
    const blocked = await call(gateway.url, 3);
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(290);
    expect(retryAfter).toBeLessThanOrEqual(300);
    const pttl = await client.pttl('k-block:rl:user:127.0.0.1');
    expect(pttl).toBeGreaterThan(60_000); // the block, not the 1m window
    expect(Math.abs(Math.ceil(pttl / 1000) - retryAfter)).toBeLessThanOrEqual(1);
    expect((await call(gateway.url, 4)).status).toBe(429);
  });

  it('without Redis (memory mode) one gateway keeps the limits in its own memory', async () => {
    const gateway = await startLimitedGateway({
      workers: [worker],
      redisUrl: undefined,
      prefix: 'k-mem:',
      settings: { rateLimit: '2/1m' },
    });
    gateways.push(gateway);
    expect((await call(gateway.url, 1)).status).toBe(200);
    expect((await call(gateway.url, 2)).status).toBe(200);
    const limited = await call(gateway.url, 3);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit')).toMatch(/^"user";r=0;t=\d+$/);
    expect(gateway.status().limits).toEqual({
      degraded: false,
      detail: "limits kept in this gateway's memory (no Redis)",
    });
    expect(await limitKeys(client, 'k-mem:')).toEqual([]);
  });
});
