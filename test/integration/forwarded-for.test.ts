import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { startLoadBalancer, type RunningLoadBalancer } from '../../src/gen/run-lb.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { modernCall, startLimitedGateway } from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestWorkerHost } from '../helpers/roles.js';

/**
 * A client that writes its own X-Forwarded-For (and X-Real-IP, Forwarded)
 * through the generated nginx and HAProxy configs, run for real, to a
 * gateway with --trust-proxy: the limit key must be the proxy's real peer
 * (127.0.0.1 here), never an address the client chose.
 */
const SPOOFED = {
  'x-forwarded-for': '6.6.6.6',
  'x-real-ip': '6.6.6.7',
  forwarded: 'for=6.6.6.8',
};

const call = (url: string, id: number, headers: Record<string, string> = {}) =>
  modernCall(url, id, 'get_product', { id: 'p00001' }, headers);

async function limitKeys(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}rl:*`); // test-only, tiny private Redis
  return keys
    .map((key) => key.slice(`${prefix}rl:`.length))
    .filter((key) => key !== '_policies')
    .sort();
}

describe('X-Forwarded-For: the rightmost untrusted hop, through the real proxies', () => {
  let redis: LocalRedis;
  let client: RedisClient;
  let worker: WorkerHost;
  const closers: (() => Promise<void>)[] = [];
  const gatewayFor = async (prefix: string, settings: Record<string, unknown>): Promise<Gateway> => {
    const gateway = await startLimitedGateway({ workers: [worker], redisUrl: redis.url, prefix, settings });
    closers.push(() => gateway.close());
    return gateway;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true });
    worker = await startTestWorkerHost({ id: 'w1', prefix: 'xff:' });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await worker?.close();
    await closeRedis(client);
    await redis?.close();
  });

  for (const kind of ['nginx', 'haproxy'] as const) {
    it(`${kind}: a spoofed X-Forwarded-For never becomes the client's key`, async () => {
      const prefix = `xff-${kind}:`;
      const gateway = await gatewayFor(prefix, { rateLimit: '3/1m', trustProxy: true });
      const lb: RunningLoadBalancer = await startLoadBalancer({
        kind,
        upstreams: [{ id: 'gateway', url: gateway.url }],
      });
      closers.push(() => lb.close());
      const url = `${lb.url}/mcp`;
      for (let i = 1; i <= 3; i++) {
        const spoofed = { ...SPOOFED, 'x-forwarded-for': `6.6.6.${i}` };
        expect((await call(url, i, spoofed)).status).toBe(200);
      }
      // A fourth "client" with yet another made-up address shares the real peer's budget.
      const limited = await call(url, 4, { ...SPOOFED, 'x-forwarded-for': '203.0.113.9, 6.6.6.6' });
      expect(limited.status).toBe(429);
      expect(await limitKeys(client, prefix)).toEqual(['user:127.0.0.1']);
    });
  }

  it('without a proxy, --trusted-proxies that does not cover the peer ignores the header', async () => {
    const prefix = 'xff-narrow:';
    const gateway = await gatewayFor(prefix, { rateLimit: '3/1m', trustedProxies: ['10.0.0.0/8'] });
    expect((await call(gateway.url, 1, SPOOFED)).status).toBe(200);
    expect(await limitKeys(client, prefix)).toEqual(['user:127.0.0.1']);
  });

  it('behind a trusted hop, the rightmost untrusted address is the key, whatever the client prepended', async () => {
    const prefix = 'xff-chain:';
    const gateway = await gatewayFor(prefix, { rateLimit: '3/1m', trustProxy: true });
    // client wrote 6.6.6.6; an edge proxy appended the real client 198.51.100.7; 10.1.2.3 is an internal hop.
    const chain = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.2.3' };
    expect((await call(gateway.url, 1, chain)).status).toBe(200);
    expect(await limitKeys(client, prefix)).toEqual(['user:198.51.100.7']);
  });
});
