import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';

describe('serve --sessions stateless: 2025 clients without sessions, spread over every worker', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe(['--instances', '3', '--sessions', 'stateless', '--backend-latency', '0']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('says in the banner what 2025 clients lose', () => {
    expect(cluster.stdout()).toMatch(/stateless: no sessions/);
    expect(cluster.stdout()).toMatch(
      /server-to-client requests .* GET notification streams and stream resumption are unavailable/s,
    );
    expect(cluster.info.sessions).toBe('stateless');
  });

  it('an SDK 1.x client gets no session and its requests reach all three workers', async () => {
    const instances: string[] = [];
    const client = await connectV1(cluster.url, { instances });
    expect(client.transport?.sessionId).toBeUndefined();
    for (let i = 0; i < 9; i++) {
      expect(jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } })).id).toBe(
        'p00001',
      );
    }
    expect(new Set(instances)).toEqual(new Set(['w1', 'w2', 'w3']));
    await client.close();
  });

  it('a pinned 2026 client is served across all three workers too', async () => {
    const instances: string[] = [];
    const client = await connectV2(cluster.url, { instances });
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    for (let i = 0; i < 9; i++) await client.callTool({ name: 'get_inventory', arguments: { id: 'p00002' } });
    expect(new Set(instances)).toEqual(new Set(['w1', 'w2', 'w3']));
    await client.close();
  });

  it('a 2026 client still gets elicitation (input_required rounds may land anywhere)', async () => {
    const client = await connectV2(cluster.url);
    expect(
      jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00003' } })).ordered,
    ).toBe(true);
    await client.close();
  });
});
