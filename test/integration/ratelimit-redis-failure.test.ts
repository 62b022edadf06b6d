import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisFailurePolicy } from '../../src/config/cluster-config.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { closeRedis, connectRedis } from '../../src/redis/connection.js';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  modernCall,
  post,
  startLimitedGateway,
  startTestWorker,
  type RawResponse,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'rl-fail:';

/** Sends `n` calls one after another; returns the responses and the slowest one's duration. */
async function calls(url: string, n: number, firstId: number) {
  const responses: RawResponse[] = [];
  let slowestMs = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    responses.push(await modernCall(url, firstId + i, 'get_product', { id: 'p00001' }));
    slowestMs = Math.max(slowestMs, performance.now() - started);
  }
  return { statuses: responses.map((r) => r.status), responses, slowestMs };
}

describe('--limits-on-redis-failure: Redis killed mid-run, then back', () => {
  /** The workers' Redis stays up: only the gateway's (and its limiter's) goes away. */
  let infra: LocalRedis;
  let worker: WorkerHost;

  beforeAll(async () => {
    infra = await startTestRedis();
    worker = await startTestWorker('w1', infra.url, PREFIX);
  });
  afterAll(async () => {
    await worker?.close();
    await infra?.close();
  });

  async function scenario(policy: RedisFailurePolicy, duringOutage: (gateway: Gateway) => Promise<void>) {
    let redis = await startTestRedis();
    const gateway = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: { rateLimit: '5/1m', limitsOnRedisFailure: policy },
    });
    try {
      expect((await calls(gateway.url, 2, 1)).statuses).toEqual([200, 200]);
      expect(gateway.status().limits).toEqual({ degraded: false, detail: 'limits shared through Redis' });

      await redis.close(); // Redis dies mid-run
      await waitUntil(() => gateway.status().limits?.degraded === true);
      expect(gateway.status().limits?.detail).toMatch(new RegExp(`Redis unreachable.*${policy}`));
      await duringOutage(gateway);
      // Notifications are never limited, whatever the policy.
      const notification = await post(
        gateway.url,
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
        { 'mcp-protocol-version': '2026-07-28' },
      );
      expect(notification.status).not.toBe(429);
      expect(notification.status).not.toBe(503);

      // Redis returns on the same port (empty): the limiter heals by itself.
      redis = await startLocalRedis({ port: redis.port });
      await waitUntil(() => gateway.status().limits?.degraded === false);
      const after = await calls(gateway.url, 6, 100);
      expect(after.statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const check = connectRedis(redis.url, { offlineQueue: true });
      try {
        expect(await check.get(`${PREFIX}rl:user:127.0.0.1`)).toBe('6');
        expect(await check.pttl(`${PREFIX}rl:user:127.0.0.1`)).toBeGreaterThan(0);
      } finally {
        await closeRedis(check);
      }
    } finally {
      await gateway.close();
      await redis.close();
    }
  }

  it('open: everything is admitted while Redis is away (no limit headers, no 429), and nothing hangs', async () => {
    await scenario('open', async (gateway) => {
      const during = await calls(gateway.url, 8, 10);
      expect(during.statuses).toEqual(Array(8).fill(200));
      expect(during.responses.every((r) => r.headers.get('ratelimit') === null)).toBe(true);
      expect(during.slowestMs).toBeLessThan(3000);
    });
  });

  it('local: the gateway enforces the limit in its own memory (the insurance limiter) while Redis is away', async () => {
    await scenario('local', async (gateway) => {
      const during = await calls(gateway.url, 7, 10);
      // A fresh in-memory window: 5 admitted, then limited by the insurance limiter.
      expect(during.statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(during.responses[0]?.headers.get('ratelimit')).toMatch(/^"user";r=4;t=\d+$/);
      expect(during.responses[6]?.json).toMatchObject({ error: { code: -32029, data: { policy: 'user' } } });
      expect(during.slowestMs).toBeLessThan(3000);
    });
  });

  it('closed: counted requests get 503 with Retry-After (not 429) while Redis is away', async () => {
    await scenario('closed', async (gateway) => {
      const during = await calls(gateway.url, 3, 10);
      expect(during.statuses).toEqual([503, 503, 503]);
      const first = during.responses[0] as RawResponse;
      expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(first.json).toMatchObject({
        id: 10,
        error: { code: -32050, message: expect.stringMatching(/Redis unreachable/) },
      });
      expect(during.slowestMs).toBeLessThan(3000);
    });
  });

  it('local, Redis stalled (SIGSTOP): a consume gives up after the command timeout and the insurance answers', async () => {
    const redis = await startTestRedis();
    const gateway = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: { rateLimit: '5/1m', limitsOnRedisFailure: 'local' },
    });
    try {
      expect((await calls(gateway.url, 1, 1)).statuses).toEqual([200]);
      process.kill(redis.pid, 'SIGSTOP'); // connected, but never answers
      const during = await calls(gateway.url, 3, 10);
      expect(during.statuses).toEqual([200, 200, 200]);
      expect(during.slowestMs).toBeLessThan(3000);
      // ioredis still says `ready`; the failed consumes are what mark the limiter degraded.
      expect(gateway.status().limits).toMatchObject({
        degraded: true,
        detail: expect.stringMatching(/not answering in time/),
      });
      process.kill(redis.pid, 'SIGCONT');
      await waitUntil(async () => {
        await calls(gateway.url, 1, 50);
        return gateway.status().limits?.degraded === false;
      });
    } finally {
      process.kill(redis.pid, 'SIGCONT');
      await gateway.close();
      await redis.close();
    }
  });
});
