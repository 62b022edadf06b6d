import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectAdmin } from '../../src/admin/admin-redis.js';
import { listSessions } from '../../src/admin/sessions.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { closeRedis, connectRedis, waitForRedis } from '../../src/redis/connection.js';
import { startLocalRedisHa, type LocalRedisHa } from '../../src/redis/local-ha.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { CLI } from '../helpers/cluster.js';
import { KEYS, startLimitedGateway, startTestWorker, writeApiKeys } from '../helpers/limits-fixtures.js';
import { currentPrimaryPort, nodeClient, sentinelClient, waitForPromotion } from '../helpers/redis-ha.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'ha-failover:';
const SESSIONS = 12;
const TOOL_LIMIT = 30;
const run = promisify(execFile);

describe('a Sentinel-managed Redis whose primary is SIGKILLed under load', () => {
  let ha: LocalRedisHa;
  let workers: WorkerHost[] = [];
  const gateways: Gateway[] = [];
  let apiKeys: string;
  const settings = () => ({
    auth: 'apikey',
    apiKeys,
    rateLimit: '100000/1m',
    toolLimit: { get_product: `${TOOL_LIMIT}/1m` },
  });

  beforeAll(async () => {
    // Short sentinel timeouts: the primary is called down after 1 s of silence.
    ha = await startLocalRedisHa({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
    apiKeys = writeApiKeys();
    workers = await Promise.all(['w1', 'w2'].map((id) => startTestWorker(id, ha.url, PREFIX)));
    gateways.push(
      await startLimitedGateway({ workers, redisUrl: ha.url, prefix: PREFIX, settings: settings() }),
    );
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(workers.map((w) => w.close()));
    await ha?.close();
  });

  it(
    'keeps serving once the replica is promoted: sessions kept, limits still count exactly',
    { timeout: 120_000 },
    async () => {
      const [gateway] = gateways as [Gateway];
      const headers = { 'x-api-key': KEYS.alice };
      const clients: Client[] = [];
      for (let i = 0; i < SESSIONS; i++) clients.push(await connectV1(gateway.url, { headers }));
      // 10 of alice's 30 get_product points spent before the kill.
      for (let i = 0; i < 10; i++) {
        const result = await clients[i % SESSIONS]!.callTool({
          name: 'get_product',
          arguments: { id: 'p00001' },
        });
        expect(jsonOf(result).id).toBe('p00001');
      }
      // The primary now (on a starved machine a sentinel may already have failed over once).
      const sentinel = sentinelClient(ha);
      const primaryPort = await currentPrimaryPort(sentinel, ha.masterName);
      sentinel.disconnect();
      const [victim, survivor] =
        primaryPort === ha.primary.port ? [ha.primary, ha.replica] : [ha.replica, ha.primary];
      // Replication is asynchronous: make sure the replica has every write so far
      // (a write acknowledged in the last instant before a crash can be lost; docs/high-availability.md).
      const primary = nodeClient(ha, victim.port);
      expect(await primary.call('WAIT', '1', '5000')).toBe(1);
      primary.disconnect();

      // Load: every session calls a tool in a loop, before, during and after the failover.
      let stop = false;
      const outcomes: { at: number; ok: boolean }[] = [];
      const loops = clients.map(async (client, i) => {
        while (!stop) {
          const ok = await client
            .callTool({ name: 'search_products', arguments: { query: `kettle ${i}` } })
            .then((r) => r.isError !== true)
            .catch(() => false);
          outcomes.push({ at: Date.now(), ok });
        }
      });
      await waitUntil(() => outcomes.length >= SESSIONS * 3, 'load to run');

      const killedAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      const newPort = await waitForPromotion(ha, victim.port);
      expect(newPort).toBe(survivor.port);
      // The same gateway process reconnects through the sentinels by itself.
      await waitUntil(() => !gateway.status().degraded, 'the gateway to reach the new primary', 30_000);
      const recoveredAt = Date.now();
      const settled = outcomes.length;
      await waitUntil(() => outcomes.length >= settled + SESSIONS * 3, 'load after the failover');
      stop = true;
      await Promise.all(loops);
      const after = outcomes.slice(settled);
      expect(after.filter((o) => !o.ok)).toEqual([]);
      expect(recoveredAt).toBeGreaterThanOrEqual(killedAt);

      // Limits still count: 10 spent before the kill, so exactly 20 of 30 more are admitted.
      const statuses: boolean[] = [];
      for (let i = 0; i < TOOL_LIMIT; i++) {
        const result = await clients[i % SESSIONS]!.callTool({
          name: 'get_product',
          arguments: { id: 'p00002' },
        }).then(
          (r) => r.isError !== true,
          () => false,
        );
        statuses.push(result);
      }
      expect(statuses.filter(Boolean)).toHaveLength(TOOL_LIMIT - 10);
      expect(statuses.slice(0, TOOL_LIMIT - 10).every(Boolean)).toBe(true);

      // Sessions kept: the promoted replica holds every record. A gateway that
      // never saw them (empty memory) serves each one, and `sessions list` sees them.
      const fresh = await startLimitedGateway({
        workers,
        redisUrl: ha.url,
        prefix: PREFIX,
        settings: settings(),
      });
      gateways.push(fresh);
      const admin = await connectAdmin({ url: ha.url, prefix: PREFIX, source: '--redis' });
      try {
        const listed = await listSessions(admin);
        expect(listed.length).toBe(SESSIONS);
      } finally {
        await admin.close();
      }
      // The admin CLI with the redis-sentinel:// URL reads the counters from the new primary.
      const { stdout } = await run(process.execPath, [
        CLI,
        'limits',
        'show',
        'tool:get_product:alice',
        '--redis',
        ha.url,
        '--prefix',
        PREFIX,
        '--json',
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ used: TOOL_LIMIT, remaining: 0 });
      for (const client of clients) {
        const transport = client.transport as { sessionId?: string };
        const response = await fetch(fresh.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': transport.sessionId!,
            'mcp-protocol-version': '2025-11-25',
            'x-api-key': KEYS.alice,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('search_products');
      }
      await Promise.all(clients.map((c) => c.close()));
    },
  );
});

describe('a planned switchover (SENTINEL FAILOVER): the old primary lives on as a replica', () => {
  let ha: LocalRedisHa;
  beforeAll(async () => {
    ha = await startLocalRedisHa({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await ha?.close();
  });

  it(
    'a connected fail-fast client (the gateways’ settings) follows it; once there, every write is kept',
    { timeout: 90_000 },
    async () => {
      const client = connectRedis(ha.url, { connectionName: 'switchover-test', commandTimeoutMs: 500 });
      client.on('error', () => {});
      try {
        await waitForRedis(client);
        expect(await client.incr('counter')).toBe(1);
        const sentinel = sentinelClient(ha);
        const primaryPort = await currentPrimaryPort(sentinel, ha.masterName);
        const [from, to] =
          primaryPort === ha.primary.port ? [ha.primary, ha.replica] : [ha.replica, ha.primary];
        expect(await sentinel.call('SENTINEL', 'FAILOVER', ha.masterName)).toBe('OK');
        sentinel.disconnect();
        await waitForPromotion(ha, from.port);
        // Until the old primary is demoted it still takes writes, which its resync then drops (a
        // property of Sentinel, docs/high-availability.md). Once this client is on the new primary,
        // every write it is told succeeded is kept.
        await waitUntil(
          async () => (await client.info('server').catch(() => '')).includes(`tcp_port:${to.port}`),
          'the client to reach the promoted replica',
          30_000,
        );
        const promoted = nodeClient(ha, to.port);
        const base = Number(await promoted.get('counter'));
        let succeeded = 0;
        for (let i = 0; i < 20; i++)
          if (
            await client.incr('counter').then(
              () => true,
              () => false,
            )
          )
            succeeded++;
        expect(succeeded).toBe(20);
        expect(Number(await promoted.get('counter'))).toBe(base + 20);
        expect(((await promoted.call('ROLE')) as string[])[0]).toBe('master');
        promoted.disconnect();
        const demoted = nodeClient(ha, from.port);
        await waitUntil(
          async () => ((await demoted.call('ROLE')) as string[])[0] === 'slave',
          'the sentinels to turn the old primary into a replica',
          30_000,
        );
        demoted.disconnect();
      } finally {
        await closeRedis(client);
      }
    },
  );
});
