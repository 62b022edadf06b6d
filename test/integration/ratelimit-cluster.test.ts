import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  KEYS,
  modernCall,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';

const PREFIX = 'rl-cluster:';

describe('two gateways sharing one Redis enforce one limit together', () => {
  let redis: LocalRedis;
  let client: RedisClient;
  let workers: WorkerHost[];
  let gateways: Gateway[];

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true });
    workers = await Promise.all(['w1', 'w2'].map((id) => startTestWorker(id, redis.url, PREFIX)));
    const apiKeys = writeApiKeys();
    gateways = await Promise.all(
      [1, 2].map(() =>
        startLimitedGateway({
          workers,
          redisUrl: redis.url,
          prefix: PREFIX,
          settings: { auth: 'apikey', apiKeys, rateLimit: '60/1m' },
        }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all((gateways ?? []).map((g) => g.close()));
    await Promise.all((workers ?? []).map((w) => w.close()));
    await closeRedis(client);
    await redis?.close();
  });

  it('2 gateways x 60/1m admit exactly 60: 200 concurrent requests race for the last 10 points and exactly 10 win', async () => {
    const headers = { 'x-api-key': KEYS.alice };
    const [a, b] = gateways as [Gateway, Gateway];
    // 50 points spent, alternating between the gateways.
    for (let i = 0; i < 50; i++) {
      const response = await modernCall((i % 2 ? b : a).url, i, 'get_product', { id: 'p00001' }, headers);
      expect(response.status).toBe(200);
    }
    const race = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        modernCall((i % 2 ? b : a).url, 1000 + i, 'get_product', { id: 'p00002' }, headers),
      ),
    );
    const admitted = race.filter((r) => r.status === 200);
    const limited = race.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(10);
    expect(limited).toHaveLength(190);
    const remaining = admitted
      .map((r) => Number(r.headers.get('x-ratelimit-remaining')))
      .sort((x, y) => x - y);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Every request was counted once in Redis (none fell back to a gateway's memory).
    expect(Number(await client.get(`${PREFIX}rl:user:alice`))).toBe(250);
    // Each gateway refused its share: the limit is one, not one per gateway.
    const refusedBy = (parity: number) => race.filter((r, i) => i % 2 === parity && r.status === 429).length;
    expect(refusedBy(0)).toBeGreaterThanOrEqual(90);
    expect(refusedBy(1)).toBeGreaterThanOrEqual(90);
  });
});
