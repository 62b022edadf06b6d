import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalClusterBus } from '../../src/bus/cluster-bus.js';
import type { Gateway, GatewayOptions } from '../../src/gateway/gateway.js';
import { RedisSessionBackend } from '../../src/gateway/sessions/session-backend.js';
import { SessionDirectory } from '../../src/gateway/sessions/session-directory.js';
import { toHash, type SessionRecord } from '../../src/gateway/sessions/session-record.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { KeySchema } from '../../src/redis/keys.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { connectV2 } from '../helpers/clients.js';
import { CLI } from '../helpers/cluster.js';
import { openGetStream, rawInitialize, rawRequest } from '../helpers/raw-mcp.js';
import { startTestRedis } from '../helpers/redis.js';
import { metricTotal, startTestGateway, startWorkerProcess, type WorkerProcess } from '../helpers/roles.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'caps:';
const run = promisify(execFile);
const GET_PRODUCT = { name: 'get_product', arguments: { id: 'p00001' } };

const metricsOf = (gateway: Gateway) => gateway.url.replace(/\/mcp$/, '/metrics');
const rehomes = (gateway: Gateway) =>
  metricTotal(metricsOf(gateway), 'mcp_scale_gateway_session_rehomes_total');

interface WorkerStatus {
  inflight: number;
  sessions: { live: number; idle: number; max: number; evicted: number; refused: number };
}
async function workerStatus(worker: WorkerProcess): Promise<WorkerStatus> {
  return (await fetch(`http://127.0.0.1:${worker.port}/_mcp-scale/status`).then((r) =>
    r.json(),
  )) as WorkerStatus;
}

describe('session memory bounds with real processes', () => {
  let redis: LocalRedis;
  let admin: RedisClient;
  /** Capped at 2 live sessions. */
  let small: WorkerProcess;
  /** Default cap. */
  let roomy: WorkerProcess;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    admin = connectRedis(redis.url);
    [small, roomy] = await Promise.all([
      startWorkerProcess({
        id: 'small',
        redisUrl: redis.url,
        prefix: PREFIX,
        // Direct requests too: the test reads the worker's own 503.
        args: ['--max-sessions-per-worker', '2', '--direct-workers'],
      }),
      startWorkerProcess({ id: 'roomy', redisUrl: redis.url, prefix: PREFIX, args: ['--direct-workers'] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([small, roomy].map((w) => w?.stop('SIGKILL')));
    await closeRedis(admin);
    await redis?.close();
  });

  async function gatewayFor(worker: WorkerProcess, options: Partial<GatewayOptions> = {}) {
    const gateway = await startTestGateway({
      workers: [{ id: worker.id, url: worker.url }],
      redisUrl: redis.url,
      prefix: PREFIX,
      ...options,
    });
    gateways.push(gateway);
    return gateway;
  }

  it('worker eviction never closes a session with an open stream; full of busy sessions, a new one gets 503 + Retry-After', async () => {
    const gateway = await gatewayFor(small);
    const streamed = (await rawInitialize(gateway.url)).sessionId!;
    const stream = await openGetStream(gateway.url, streamed);
    expect(stream.status).toBe(200);
    const before = await workerStatus(small);
    // Three more sessions through a table of 2: each evicts the idle one, never the streaming one.
    const others: string[] = [];
    for (let i = 0; i < 3; i++) others.push((await rawInitialize(gateway.url)).sessionId!);
    const after = await workerStatus(small);
    expect(after.sessions.live).toBe(2);
    expect(after.sessions.evicted - before.sessions.evicted).toBe(2);
    expect(stream.ended()).toBe(false);
    const rehomesBefore = await rehomes(gateway);
    const answer = await rawRequest(gateway.url, streamed, 'tools/call', GET_PRODUCT);
    expect(answer.status).toBe(200);
    expect(await rehomes(gateway)).toBe(rehomesBefore); // it was never evicted

    // An evicted session answers too, replayed (eviction costs time, not a session).
    const evicted = await rawRequest(gateway.url, others[0]!, 'tools/call', GET_PRODUCT);
    expect(evicted.status).toBe(200);
    expect(evicted.messages[0]?.result).toBeDefined();
    expect(await rehomes(gateway)).toBe(rehomesBefore + 1);

    // Both slots streaming: nothing idle to evict.
    const second = await openGetStream(gateway.url, others[0]!);
    expect(second.status).toBe(200);
    const refusedDirect = await rawInitialize(small.url);
    expect(refusedDirect.status).toBe(503);
    expect(refusedDirect.headers.get('retry-after')).toBe('1');
    const refused = await rawInitialize(gateway.url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.messages[0]?.error?.message).toMatch(/--max-sessions-per-worker/);
    expect((await workerStatus(small)).sessions.refused).toBeGreaterThanOrEqual(2);
    // Existing sessions are unaffected.
    expect((await rawRequest(gateway.url, streamed, 'tools/call', GET_PRODUCT)).status).toBe(200);
    expect(stream.ended()).toBe(false);
    stream.close();
    second.close();
    await waitUntil(async () => (await workerStatus(small)).sessions.idle === 2, 'both streams closed');
  });

  it('worker eviction never closes a session with a request in flight', async () => {
    const gateway = await gatewayFor(small);
    const busy = (await rawInitialize(gateway.url)).sessionId!;
    let reportDone = false;
    const report = rawRequest(gateway.url, busy, 'tools/call', {
      name: 'generate_report',
      arguments: { seconds: 8 },
    }).finally(() => (reportDone = true));
    await waitUntil(async () => (await workerStatus(small)).inflight >= 1, 'the report in flight');
    const before = await workerStatus(small);
    for (let i = 0; i < 3; i++) expect((await rawInitialize(gateway.url)).status).toBe(200);
    const after = await workerStatus(small);
    expect(after.sessions.evicted - before.sessions.evicted).toBeGreaterThanOrEqual(2);
    expect(reportDone).toBe(false); // the evictions happened while the call ran
    const result = await report;
    expect(result.status).toBe(200);
    const final = result.messages.find((m) => m.id === 1);
    expect(final?.error).toBeUndefined();
    expect(final?.result).toBeDefined();
    const rehomesBefore = await rehomes(gateway);
    expect((await rawRequest(gateway.url, busy, 'tools/call', GET_PRODUCT, 2)).status).toBe(200);
    expect(await rehomes(gateway)).toBe(rehomesBefore); // still on its worker, never evicted
  });

  it('per-user cap: a new session closes the user’s least recently used idle one, which then gets 404', async () => {
    const gateway = await gatewayFor(roomy, { maxSessionsPerUser: 3 });
    const owner = 'ip:127.0.0.1';
    const index = new KeySchema(PREFIX).userSessions(owner);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await rawInitialize(gateway.url)).sessionId!);
    const [s1, s2, s3] = ids as [string, string, string];
    const createdScore = Number(await admin.zscore(index, s1));
    await waitUntil(async () => Date.now() > createdScore, 'a clock tick');
    expect((await rawRequest(gateway.url, s1, 'tools/call', GET_PRODUCT)).status).toBe(200);
    await waitUntil(async () => Number(await admin.zscore(index, s1)) > createdScore, 's1 marked used');

    const s4 = (await rawInitialize(gateway.url)).sessionId!;
    expect(s4).toBeTruthy();
    const gone = await rawRequest(gateway.url, s2, 'tools/call', GET_PRODUCT);
    expect(gone.status).toBe(404);
    for (const id of [s1, s3, s4]) expect((await rawRequest(gateway.url, id, 'ping')).status).toBe(200);
    expect(await admin.zcard(index)).toBe(3);
    expect(gateway.status().sessions.userCapEvictions).toBe(1);

    const cli = await run(process.execPath, [
      CLI,
      'sessions',
      'list',
      '--user',
      owner,
      '--redis',
      redis.url,
      '--prefix',
      PREFIX,
    ]);
    expect(cli.stdout).toContain(`user ${owner} holds 3 live session(s)`);

    // Every one of the user's sessions busy (streams open): the new one is refused, the count holds.
    const streams = await Promise.all([s1, s3, s4].map((id) => openGetStream(gateway.url, id)));
    const refused = await rawInitialize(gateway.url);
    expect(refused.status).toBe(429);
    expect(refused.messages[0]?.error?.message).toMatch(/--max-sessions-per-user/);
    expect(await admin.zcard(index)).toBe(3);
    for (const stream of streams) {
      expect(stream.ended()).toBe(false);
      stream.close();
    }

    // Twelve creations at once (each a claim in Redis): the cap still holds. Each new session
    // is admitted by closing an idle one, or refused (429) while the closed streams' sessions
    // still count as busy here; either way the user ends with at most 3 live sessions.
    const burst = await Promise.all(Array.from({ length: 12 }, () => rawInitialize(gateway.url)));
    for (const opened of burst) expect([200, 429]).toContain(opened.status);
    const created = burst.filter((opened) => opened.status === 200).map((opened) => opened.sessionId!);
    expect(created.length).toBeGreaterThan(0);
    expect(await admin.zcard(index)).toBeLessThanOrEqual(3);
    const everyId = [...ids, s4, ...created];
    const answering = async () => {
      let live = 0;
      for (const id of everyId) if ((await rawRequest(gateway.url, id, 'ping')).status === 200) live++;
      return live;
    };
    // Closing the displaced sessions is asynchronous; once done, exactly the indexed ones answer.
    await waitUntil(
      async () => (await answering()) === (await admin.zcard(index)),
      'the displaced sessions closed',
    );
    expect(await answering()).toBeLessThanOrEqual(3);
  });

  it('replay state is capped: an oversized initialize or subscribe gets 413 and a JSON-RPC error, and nothing is stored', async () => {
    const gateway = await gatewayFor(roomy); // default --max-session-state 16kb
    const keysBefore = await admin.keys(`${PREFIX}session:*`);
    const big = await rawInitialize(gateway.url, { name: 'x'.repeat(20_000), version: '1' });
    expect(big.status).toBe(413);
    expect(big.messages[0]?.error?.code).toBe(-32602);
    expect(big.messages[0]?.error?.message).toMatch(/--max-session-state/);
    expect(big.sessionId).toBeNull();
    expect((await admin.keys(`${PREFIX}session:*`)).length).toBe(keysBefore.length);

    const session = (await rawInitialize(gateway.url)).sessionId!;
    const subscribe = await rawRequest(gateway.url, session, 'resources/subscribe', {
      uri: `inventory://${'p'.repeat(17_000)}`,
    });
    expect(subscribe.status).toBe(413);
    expect(subscribe.messages[0]?.error?.message).toMatch(/Nothing was stored/);
    expect(await admin.hget(`${PREFIX}session:${session}`, 's')).toBe('[]');
    const small = await rawRequest(gateway.url, session, 'resources/subscribe', {
      uri: 'inventory://p00001',
    });
    expect(small.status).toBe(200);
    expect(await admin.hget(`${PREFIX}session:${session}`, 's')).toBe('["inventory://p00001"]');
  });

  it('2026 subscriptions/listen streams are capped per user', async () => {
    const gateway = await gatewayFor(roomy, { maxListenStreamsPerUser: 1 });
    const first = await connectV2(gateway.url);
    const second = await connectV2(gateway.url);
    const listening = await first.listen({ resourceSubscriptions: ['inventory://p00001'] });
    await expect(second.listen({ resourceSubscriptions: ['inventory://p00002'] })).rejects.toThrow(
      /--max-listen-streams-per-user|429|Too many/,
    );
    await listening.close();
    await waitUntil(async () => {
      try {
        const again = await second.listen({ resourceSubscriptions: ['inventory://p00002'] });
        await again.close();
        return true;
      } catch {
        return false;
      }
    }, 'a listen slot free again');
    await Promise.all([first.close(), second.close()]);
  });

  it('a gateway keeps a bounded set of records in memory and still routes sessions it only finds in Redis', async () => {
    const keys = new KeySchema(PREFIX);
    const TOTAL = 100_000;
    const CACHE = 1000;
    const template = (id: string, upstream: string): SessionRecord => ({
      id,
      worker: roomy.id,
      upstream,
      initParams:
        '{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"syn","version":"1"}}',
      subscriptions: [],
      createdAt: Date.now(),
      version: 0,
    });
    for (let start = 0; start < TOTAL; start += 5000) {
      const batch = admin.pipeline();
      for (let i = start; i < start + 5000; i++) {
        const key = keys.session(`syn${i}`);
        batch.hset(key, toHash(template(`syn${i}`, `${roomy.id}.fake${i}`)));
        batch.pexpire(key, 600_000);
      }
      await batch.exec();
    }
    // Library level: every record read through a bounded directory is right.
    const directory = new SessionDirectory(new RedisSessionBackend(admin, keys), new LocalClusterBus(), {
      ttlMs: 600_000,
      cacheSize: CACHE,
    });
    let wrong = 0;
    for (let i = 0; i < TOTAL; i += 20) {
      const lookup = await directory.get(`syn${i}`);
      if (!('found' in lookup) || lookup.found.upstream !== `${roomy.id}.fake${i}`) wrong++;
    }
    expect(wrong).toBe(0);
    expect(directory.size).toBe(CACHE);
    directory.close();

    // Through a gateway: 200 sampled records point at real upstream sessions; each routes there.
    const gateway = await gatewayFor(roomy, { sessionCacheSize: CACHE });
    const sample = Array.from({ length: 200 }, (_, n) => `syn${n * 499}`);
    for (const id of sample) {
      const upstream = (await rawInitialize(roomy.url)).sessionId!;
      await admin.hset(keys.session(id), 'u', upstream);
    }
    const rehomesBefore = await rehomes(gateway);
    for (const id of sample) {
      const answer = await rawRequest(gateway.url, id, 'tools/call', GET_PRODUCT);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('mcp-scale-instance')).toBe(roomy.id);
    }
    expect(await rehomes(gateway)).toBe(rehomesBefore); // found in Redis, on the right upstream
    expect(gateway.status().sessions.known).toBeLessThanOrEqual(CACHE);
  });

  it('the events kept for Last-Event-ID stay within --replay-buffer; a resumption past it is refused and counted', async () => {
    const worker = await startWorkerProcess({
      id: 'replay',
      redisUrl: redis.url,
      prefix: PREFIX,
      args: ['--direct-workers', '--replay-buffer', '8kb', '--replay-window', '1m'],
    });
    try {
      const session = (await rawInitialize(worker.url)).sessionId!;
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        'mcp-session-id': session,
      };
      let firstEventId: string | undefined;
      for (let id = 1; id <= 40; id++) {
        const text = await fetch(worker.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: GET_PRODUCT }),
        }).then((r) => r.text());
        expect(text).toContain(`"id":${id}`);
        firstEventId ??= /^id: ?(.+)$/m.exec(text)?.[1];
      }
      expect(firstEventId).toBeDefined();
      const status = (await fetch(`http://127.0.0.1:${worker.port}/_mcp-scale/status`).then((r) =>
        r.json(),
      )) as {
        replay: { events: number; bytes: number; maxBytes: number; forgotten: number; misses: number };
      };
      expect(status.replay.maxBytes).toBe(8 * 1024);
      expect(status.replay.bytes).toBeGreaterThan(0);
      expect(status.replay.bytes).toBeLessThanOrEqual(8 * 1024);
      // 40 calls of at least one event each, and far more than 8 KB of them.
      expect(status.replay.forgotten + status.replay.events).toBeGreaterThanOrEqual(40);
      expect(status.replay.forgotten).toBeGreaterThan(0);
      expect(status.replay.misses).toBe(0);

      // The first call's events are gone: resuming after them is refused, and the miss is counted.
      const resumed = await fetch(worker.url, {
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': firstEventId! },
      });
      expect(resumed.status).toBe(400);
      await resumed.body?.cancel();
      const metrics = `http://127.0.0.1:${worker.port}/metrics`;
      expect(await metricTotal(metrics, 'mcp_scale_worker_replay_misses_total')).toBe(1);
      expect(await metricTotal(metrics, 'mcp_scale_worker_replay_bytes')).toBeLessThanOrEqual(8 * 1024);
    } finally {
      await worker.stop('SIGKILL');
    }
  });
});
