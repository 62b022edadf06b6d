import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startTestGateway, startTestWorkerHost } from '../helpers/roles.js';

describe('worker host (memory mode, demo server)', () => {
  let worker: WorkerHost;
  beforeAll(async () => {
    // Clients talk to this worker directly (a --direct-workers worker).
    worker = await startTestWorkerHost({
      id: 'w1',
      prefix: 'test:',
      acceptUnsigned: true,
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

describe('worker host with an SDK 1.x server module', () => {
  const v1Factory = async () => {
    const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
    const { z } = await import('zod');
    const server = new McpServer({ name: 'v1-module', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    return server;
  };

  for (const sessions of ['stateful', 'stateless'] as const) {
    it(`serves 2025 clients (${sessions})`, async () => {
      const worker = await startTestWorkerHost({
        id: 'v1',
        serverFactory: v1Factory,
        prefix: 'test:',
        sessions,
        acceptUnsigned: true,
      });
      try {
        expect(worker.sdk).toBe('v1');
        if (sessions === 'stateful') {
          // A 2025-only server answers 2026 probes as it does directly, so an
          // auto-negotiating v2 client falls back, through a gateway too.
          const gateway = await startTestGateway({ workers: [{ id: 'v1', url: worker.url }] });
          try {
            const auto = new V2Client(
              { name: 'auto', version: '1' },
              { versionNegotiation: { mode: 'auto' } },
            );
            await auto.connect(new V2Transport(new URL(gateway.url)));
            expect(auto.getNegotiatedProtocolVersion()).toMatch(/^2025-/);
            const echoed = await auto.callTool({ name: 'echo', arguments: { text: 'via auto' } });
            expect((echoed.content as { text: string }[])[0]!.text).toBe('via auto');
            await auto.close();
          } finally {
            await gateway.close();
          }
        }
        const client = await connectV1(worker.url);
        expect(client.transport?.sessionId === undefined).toBe(sessions === 'stateless');
        for (let i = 0; i < 3; i++) {
          const result = await client.callTool({ name: 'echo', arguments: { text: `hi ${i}` } });
          expect((result.content as { text: string }[])[0]!.text).toBe(`hi ${i}`);
        }
        await client.close();
      } finally {
        await worker.close();
      }
    });
  }
});
