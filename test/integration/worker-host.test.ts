import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerHost, type WorkerHost } from '../../src/worker/host.js';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';

describe('worker host (memory mode, demo server)', () => {
  let worker: WorkerHost;
  beforeAll(async () => {
    worker = await startWorkerHost({
      id: 'w1',
      host: '127.0.0.1',
      port: 0,
      path: '/mcp',
      backendLatencyMs: 0,
      prefix: 'test:',
      sessions: 'stateful',
      sessionIdleMs: 60_000,
      maxBodyBytes: 1024 * 1024,
    });
  });
  afterAll(async () => {
    await worker.close();
  });

  it('serves a 2025 session to an SDK 1.x client', async () => {
    const client = await connectV1(worker.url);
    expect(client.transport?.sessionId?.startsWith('w1.')).toBe(true);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('get_product');
    const product = jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00042' } }));
    expect(product.id).toBe('p00042');
    await client.close();
  });

  it('serves 2026-07-28 to a pinned v2 client', async () => {
    const client = await connectV2(worker.url);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const product = jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } }));
    expect(product.id).toBe('p00001');
    const order = jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00002' } }));
    expect(order.ordered).toBe(true);
    await client.close();
  });
});
