import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import type { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';

/**
 * Clients of both SDK lines, as they come, against one `serve --instances 2`
 * running the demo shop: the 1.x `Client` (2025-era session), the v2
 * `Client` pinned to 2026-07-28 (stateless), and the v2 `Client` in its
 * default legacy mode (a 2025 client again). Each lists tools, calls
 * get_product and reads a resource through the gateway.
 */

/** What every client does, whichever SDK: list, call, read. */
interface AnyClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  readResource(params: { uri: string }): Promise<{ contents: ({ uri: string } & Record<string, unknown>)[] }>;
}

async function useTheShop(client: AnyClient) {
  const tools = (await client.listTools()).tools.map((t) => t.name);
  expect(tools).toEqual(expect.arrayContaining(['get_product', 'get_inventory', 'search_products']));
  const product = jsonOf<{ id: string; name: string }>(
    await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } }),
  );
  expect(product).toMatchObject({ id: 'p00001', name: expect.any(String) });
  const read = await client.readResource({ uri: 'inventory://p00001' });
  expect(read.contents).toHaveLength(1);
  const content = read.contents[0]!;
  expect(content.uri).toBe('inventory://p00001');
  expect(JSON.parse(String(content.text))).toEqual({ id: 'p00001', stock: expect.any(Number) });
}

describe('both SDK lines against serve --instances 2 (demo shop)', () => {
  let cluster: TestCluster;
  const toClose: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--backend-latency', '0']);
  });
  afterAll(async () => {
    await Promise.allSettled(toClose.map((c) => c.close()));
    await cluster?.stop();
  });

  it('SDK 1.x Client: a 2025-11-25 session that stays on one instance', async () => {
    const instances: string[] = [];
    const client = await connectV1(cluster.url, { instances });
    toClose.push(client);
    const transport = client.transport as V1Transport;
    expect(transport.protocolVersion).toBe('2025-11-25');
    expect(transport.sessionId).toMatch(/\S{8,}/);
    await useTheShop(client);
    expect(instances.length).toBeGreaterThanOrEqual(4);
    expect(new Set(instances).size).toBe(1);
    expect(['w1', 'w2']).toContain(instances[0]);
  });

  it('v2 Client pinned to 2026-07-28: stateless, no session, any instance serves it', async () => {
    const instances: string[] = [];
    const client = await connectV2(cluster.url, { instances });
    toClose.push(client);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getProtocolEra()).toBe('modern');
    expect((client.transport as V2Transport).sessionId).toBeUndefined();
    await useTheShop(client);
    // Nothing pins a stateless client: the gateway spreads its requests
    // (least outstanding, ties at random), so 20 calls reach both workers.
    for (let i = 0; i < 20; i++) await client.callTool({ name: 'get_product', arguments: { id: 'p00002' } });
    expect(new Set(instances)).toEqual(new Set(['w1', 'w2']));
  });

  it('v2 Client in its default (legacy) mode: a 2025 session like 1.x', async () => {
    const instances: string[] = [];
    const client = new V2Client({ name: 'mcp-scale-test-v2-legacy', version: '1.0.0' });
    toClose.push(client);
    await client.connect(
      new V2Transport(new URL(cluster.url), {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          const instance = response.headers.get('mcp-scale-instance');
          if (instance) instances.push(instance);
          return response;
        },
      }),
    );
    expect(client.getProtocolEra()).toBe('legacy');
    expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect((client.transport as V2Transport).sessionId).toMatch(/\S{8,}/);
    await useTheShop(client);
    expect(new Set(instances).size).toBe(1);
  });
});
