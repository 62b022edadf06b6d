import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';

for (const kind of ['nginx', 'haproxy'] as const) {
  describe(`serve --lb ${kind} --affinity session: the real proxy keeps sessions on their worker`, () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startServe([
        '--instances',
        '2',
        '--backend-latency',
        '0',
        '--lb',
        kind,
        '--affinity',
        'session',
      ]);
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it('runs the proxy in front and says so in the ready file', () => {
      expect(cluster.info.lb).toMatchObject({ kind, affinity: 'session', url: cluster.url });
      expect(cluster.info.lb!.pid).toBeGreaterThan(0);
      expect(cluster.stdout()).toContain(`load balancer ${kind} (affinity session)`);
    });

    it('30 of 30 new sessions keep every follow-up on their creating worker', async () => {
      const creators = new Set<string>();
      let kept = 0;
      for (let i = 0; i < 30; i++) {
        const instances: string[] = [];
        const client = await connectV1(cluster.url, { instances });
        const creator = client.transport!.sessionId!.split('.')[0]!;
        for (let call = 0; call < 3; call++)
          await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
        if (instances.length >= 4 && instances.every((instance) => instance === creator)) kept++;
        creators.add(creator);
        await (client.transport as { terminateSession?: () => Promise<void> }).terminateSession?.();
        await client.close();
      }
      expect(kept).toBe(30);
      // Both workers created sessions: the proxy balanced the initializes.
      expect(creators).toEqual(new Set(['w1', 'w2']));
    });

    it('progress events pass through the proxy as they are produced', async () => {
      const client = await connectV1(cluster.url);
      const started = Date.now();
      const arrivals: number[] = [];
      await client.callTool({ name: 'generate_report', arguments: { seconds: 2 } }, undefined, {
        onprogress: () => arrivals.push(Date.now() - started),
      });
      const finished = Date.now() - started;
      expect(arrivals).toHaveLength(8);
      expect(arrivals[0]!).toBeLessThan(finished - 1000);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(1000);
      await client.close();
    });

    it('a 100 KB request body passes through', async () => {
      const client = await connectV1(cluster.url);
      const query = 'x'.repeat(100 * 1024);
      const result = jsonOf<{ count: number }>(
        await client.callTool({ name: 'search_products', arguments: { query, limit: 1 } }),
      );
      expect(result.count).toBe(0);
      await client.close();
    });
  });
}
