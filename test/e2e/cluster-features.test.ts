import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

describe('the demo shop through a real cluster (serve --instances 2)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    // --direct-workers: one test drives the two workers' ports itself.
    cluster = await startServe(['--instances', '2', '--backend-latency', '0', '--direct-workers']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('2025: tools, search, inventory writes, the caller’s profile', async () => {
    const client = await connectV1(cluster.url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'get_product',
        'search_products',
        'get_inventory',
        'update_inventory',
        'get_user',
        'generate_report',
        'confirm_order',
        'toggle_beta_tool',
      ]),
    );
    const annotations = Object.fromEntries(
      (await client.listTools()).tools.map((t) => [t.name, t.annotations]),
    );
    expect(annotations.get_product).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    expect(annotations.update_inventory).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    const search = jsonOf<{ count: number; products: { name: string }[] }>(
      await client.callTool({ name: 'search_products', arguments: { query: 'kettle', limit: 5 } }),
    );
    expect(search.count).toBe(5);
    for (const product of search.products) expect(product.name.toLowerCase()).toContain('kettle');
    const before = jsonOf<{ stock: number }>(
      await client.callTool({ name: 'get_inventory', arguments: { id: 'p00100' } }),
    ).stock;
    const after = jsonOf<{ stock: number }>(
      await client.callTool({ name: 'update_inventory', arguments: { id: 'p00100', delta: 3 } }),
    ).stock;
    expect(after).toBe(before + 3);
    expect(jsonOf(await client.callTool({ name: 'get_user', arguments: {} }))).toMatchObject({
      user: null,
      tier: 'guest',
    });
    const missing = await client.callTool({ name: 'get_product', arguments: { id: 'nope' } });
    expect(missing.isError).toBe(true);
    await client.close();
  });

  it('2025: affinity — every request of a session reaches the worker that created it', async () => {
    const instances: string[] = [];
    const client = await connectV1(cluster.url, { instances });
    for (let i = 0; i < 20; i++) await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    expect(new Set(instances).size).toBe(1);
    await client.close();
  });

  it('2025: progress events stream as they are produced, not batched at the end', async () => {
    const client = await connectV1(cluster.url);
    const started = Date.now();
    const arrivals: number[] = [];
    const result = await client.callTool({ name: 'generate_report', arguments: { seconds: 2 } }, undefined, {
      onprogress: () => arrivals.push(Date.now() - started),
    });
    const finished = Date.now() - started;
    expect(jsonOf(result).sections).toBe(8);
    expect(arrivals.length).toBe(8);
    // Produced every 250 ms: the first must arrive long before the end, and
    // they must spread over the call (generous margins for a loaded machine).
    expect(arrivals[0]!).toBeLessThan(finished - 1000);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(1000);
    await client.close();
  });

  it('2025: elicitation round trip (confirm_order asks the client)', async () => {
    let asked = '';
    const client = await connectV1(cluster.url, {
      elicit: () => {
        asked = 'yes';
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const order = jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00009' } }));
    expect(asked).toBe('yes');
    expect(order.ordered).toBe(true);
    const declined = await connectV1(cluster.url, { elicit: () => ({ action: 'decline' }) });
    expect(
      jsonOf(await declined.callTool({ name: 'confirm_order', arguments: { id: 'p00009' } })).ordered,
    ).toBe(false);
    await client.close();
    await declined.close();
  });

  it('2025: resource subscriptions — a write on any worker notifies subscribers on every worker', async () => {
    const subscribers = [];
    const updates: string[][] = [];
    const instanceLogs: string[][] = [];
    // Sessions land on workers by load; open enough to have both workers covered.
    for (let i = 0; i < 4; i++) {
      const instances: string[] = [];
      const seen: string[] = [];
      const client = await connectV1(cluster.url, { instances });
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        seen.push(n.params.uri);
      });
      await client.subscribeResource({ uri: 'inventory://p00200' });
      subscribers.push(client);
      updates.push(seen);
      instanceLogs.push(instances);
    }
    expect(new Set(instanceLogs.map((log) => log.at(-1))).size).toBe(2);
    const read = await subscribers[0]!.readResource({ uri: 'inventory://p00200' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: 'p00200' });
    const writer = await connectV1(cluster.url);
    await writer.callTool({ name: 'update_inventory', arguments: { id: 'p00200', delta: -1 } });
    await waitUntil(
      () => updates.every((seen) => seen.includes('inventory://p00200')),
      'every subscriber notified',
    );
    await Promise.all([...subscribers, writer].map((c) => c.close()));
  });

  it('2025 and 2026: tools/list_changed when the beta tool is toggled anywhere', async () => {
    const legacy = await connectV1(cluster.url);
    let legacyChanged = 0;
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      legacyChanged++;
    });
    const modern = await connectV2(cluster.url);
    let modernChanged = 0;
    modern.setNotificationHandler('notifications/tools/list_changed', () => {
      modernChanged++;
    });
    const subscription = await modern.listen({ toolsListChanged: true });
    const toggler = await connectV1(cluster.url);
    await toggler.callTool({ name: 'toggle_beta_tool', arguments: { enabled: true } });
    await waitUntil(() => legacyChanged > 0 && modernChanged > 0, 'both eras told about the new tool');
    expect((await legacy.listTools()).tools.map((t) => t.name)).toContain('beta_recommendations');
    expect((await modern.listTools()).tools.map((t) => t.name)).toContain('beta_recommendations');
    await toggler.callTool({ name: 'toggle_beta_tool', arguments: { enabled: false } });
    await waitUntil(
      async () => !(await legacy.listTools()).tools.some((t) => t.name === 'beta_recommendations'),
      'beta tool gone',
    );
    await subscription.close();
    await Promise.all([legacy.close(), modern.close(), toggler.close()]);
  });

  it('2026: subscriptions/listen receives resources/updated produced on any worker', async () => {
    const listener = await connectV2(cluster.url);
    const seen: string[] = [];
    listener.setNotificationHandler('notifications/resources/updated', (n) => {
      seen.push(n.params.uri);
    });
    const subscription = await listener.listen({ resourceSubscriptions: ['inventory://p00300'] });
    const writers = await Promise.all([
      connectV1(cluster.url),
      connectV1(cluster.url),
      connectV1(cluster.url),
    ]);
    for (const writer of writers)
      await writer.callTool({ name: 'update_inventory', arguments: { id: 'p00300', delta: 1 } });
    await waitUntil(() => seen.length >= writers.length, 'one notification per write');
    expect(new Set(seen)).toEqual(new Set(['inventory://p00300']));
    await subscription.close();
    await Promise.all([listener.close(), ...writers.map((w) => w.close())]);
  });

  it('2026: input_required round two completes on another worker (shared request-state key)', async () => {
    const [w1, w2] = cluster.info.instances;
    // Round one to w1, round two to w2: the requestState w1 minted must verify on w2.
    let calls = 0;
    const fetchAcrossWorkers: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      let url = String(input);
      if (body.includes('"tools/call"')) url = (calls++ === 0 ? w1! : w2!).url;
      return fetch(url, init);
    };
    const client = new V2Client(
      { name: 'mrtr-test', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    client.setRequestHandler('elicitation/create', async () => ({
      action: 'accept',
      content: { confirm: true },
    }));
    await client.connect(new V2Transport(new URL(w1!.url), { fetch: fetchAcrossWorkers }));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const order = jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00010' } }));
    expect(calls).toBe(2);
    expect(order).toMatchObject({ ordered: true, askedBy: 'w1', confirmedOn: 'w2' });
    await client.close();
  });
});
