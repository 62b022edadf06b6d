import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestGateway, startWorkerProcess, type WorkerProcess } from '../helpers/roles.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'drain:';
/** Every demo data tool sleeps this long: the call is still running when SIGTERM arrives. */
const LATENCY = '2s';

async function health(worker: WorkerProcess): Promise<{ inflight: number; status: string }> {
  return (await fetch(`http://127.0.0.1:${worker.port}/healthz`).then((r) => r.json())) as {
    inflight: number;
    status: string;
  };
}

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

/** A raw 2025 session straight on the worker, and its GET stream; `ended` resolves when the worker ends it. */
async function openStream(worker: WorkerProcess): Promise<{ ended: Promise<boolean> }> {
  const url = `http://127.0.0.1:${worker.port}/mcp`;
  const init = await fetch(url, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'drain', version: '1' },
      },
    }),
  });
  const session = init.headers.get('mcp-session-id')!;
  await init.body?.cancel();
  await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  }).then((r) => r.body?.cancel());
  const get = await fetch(url, { headers: { ...HEADERS, 'mcp-session-id': session } });
  expect(get.status).toBe(200);
  const reader = get.body!.getReader();
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // cut: ended too
    }
    return true;
  })();
  return { ended };
}

function exited(worker: WorkerProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (worker.process.exitCode !== null) return resolve(worker.process.exitCode);
    worker.process.once('exit', (code) => resolve(code));
  });
}

describe('a worker drains on SIGTERM', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[] = [];
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    // Found through the Redis registry, so the drain mark in the registry is what the gateway sees.
    workers = await Promise.all(
      ['w1', 'w2'].map((id) =>
        startWorkerProcess({
          id,
          redisUrl: redis.url,
          prefix: PREFIX,
          // --direct-workers: the test also opens a session on the worker itself (its GET stream).
          args: ['--backend-latency', LATENCY, '--drain-timeout', '20s', '--direct-workers'],
        }),
      ),
    );
    gateway = await startTestGateway({ workers: [], redisUrl: redis.url, prefix: PREFIX });
    await waitUntil(() => gateway.status().workers.filter((w) => w.healthy).length === 2, 'both workers');
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await redis?.close();
  });

  it('a running non-idempotent call completes across SIGTERM; the session moves on its next request', async () => {
    const instances: string[] = [];
    const client = await connectV1(gateway.url, { instances });
    const ownerId = instances.at(-1)!;
    const owner = workers.find((w) => w.id === ownerId)!;
    const other = workers.find((w) => w.id !== ownerId)!;

    // A GET stream on a session of the owner's own: a drain ends it at once.
    const stream = await openStream(owner);
    const call = client.callTool({ name: 'update_inventory', arguments: { id: 'p00001', delta: 3 } });
    await waitUntil(async () => (await health(owner)).inflight >= 1, 'the call to reach the owner');
    const exit = exited(owner);
    owner.process.kill('SIGTERM');

    // Readiness goes false first, while the call is still running.
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${owner.port}/readyz`)).status === 503,
      'readiness to drop',
    );
    expect(await stream.ended).toBe(true);
    const drainingHealth = await health(owner);
    expect(drainingHealth).toMatchObject({ status: 'draining', inflight: 1 });
    // The gateway takes it out of rotation from the registry, before the process is gone.
    await waitUntil(
      () => gateway.status().workers.find((w) => w.id === ownerId)?.healthy === false,
      'the gateway to stop choosing the draining worker',
    );
    // A new session lands on the other worker meanwhile.
    const newcomerInstances: string[] = [];
    const newcomer = await connectV1(gateway.url, { instances: newcomerInstances });
    expect(newcomerInstances.at(-1)).toBe(other.id);

    const result = await call;
    expect(result.isError).toBeFalsy();
    expect(jsonOf<{ id: string; stock: number }>(result).id).toBe('p00001');
    expect(await exit).toBe(0);

    // The drained worker's session re-homes on its next request, which succeeds.
    const next = await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    expect(next.isError).toBeFalsy();
    expect(instances.at(-1)).toBe(other.id);
    await Promise.all([client.close(), newcomer.close()]);
  }, 60_000);
});

describe('worker readiness through a Redis outage', () => {
  it('stays ready (degraded) once Redis was reached, so a Redis restart empties no pool', async () => {
    const redis = await startTestRedis();
    const worker = await startWorkerProcess({ id: 'wr', redisUrl: redis.url, prefix: 'drain-redis:' });
    try {
      const readyz = async () => {
        const response = await fetch(`http://127.0.0.1:${worker.port}/readyz`);
        return { status: response.status, body: (await response.json()) as { degraded: boolean } };
      };
      await waitUntil(async () => (await readyz()).status === 200, 'ready with Redis');
      await redis.close();
      await waitUntil(async () => (await readyz()).body.degraded, 'the worker to notice Redis is gone');
      const during = await readyz();
      expect(during.status).toBe(200);
      expect(during.body).toMatchObject({ ready: true, degraded: true, draining: false });
    } finally {
      await worker.stop('SIGKILL');
      await redis.close();
    }
  });
});
