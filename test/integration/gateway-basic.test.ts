import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestGateway, startTestWorkerHost } from '../helpers/roles.js';

const secret = 'x'.repeat(40);

describe('gateway in front of two workers (in-process, real Redis)', () => {
  let redis: LocalRedis;
  let workers: WorkerHost[];
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    workers = await Promise.all(
      ['w1', 'w2'].map((id) =>
        startTestWorkerHost({
          id,
          redisUrl: redis.url,
          prefix: 'gw-basic:',
          clusterSecret: secret,
        }),
      ),
    );
    gateway = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: 'gw-basic:',
      clusterSecret: secret,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(workers.map((w) => w.close()));
    await redis?.close();
  });

  it('keeps a 2025 session on its worker and owns the session id', async () => {
    const instances: string[] = [];
    const client = await connectV1(gateway.url, { instances });
    const sessionId = client.transport?.sessionId ?? '';
    expect(sessionId).not.toMatch(/^w\d\./);
    for (let i = 0; i < 5; i++) await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    expect(new Set(instances).size).toBe(1);
    await client.close();
  });

  it('serves a pinned 2026 client and finishes input_required on any worker', async () => {
    const instances: string[] = [];
    const client = await connectV2(gateway.url, { instances });
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const order = jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00003' } }));
    expect(order.ordered).toBe(true);
    await client.close();
  });
});
