import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Authenticator } from '../../src/gateway/admission.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { CLI } from '../helpers/cluster.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { metricTotal, startTestGateway, startWorkerProcess, type WorkerProcess } from '../helpers/roles.js';

const PREFIX = 'failover:';
const run = promisify(execFile);

/** A raw 2025 request on an existing session (what a client on another gateway would send). */
async function rawCall(
  url: string,
  sessionId: string,
  id: number,
  name: string,
  args: Record<string, unknown>,
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
  const text = await response.text();
  if (!text) throw new Error(`empty body, HTTP ${response.status}`);
  const data = text.includes('data:')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data:') && l.slice(5).trim())
        .map((l) => JSON.parse(l.slice(5)))
    : [JSON.parse(text)];
  return { status: response.status, instance: response.headers.get('mcp-scale-instance'), messages: data };
}

async function sessionsOn(worker: WorkerProcess): Promise<number> {
  const health = (await fetch(`http://127.0.0.1:${worker.port}/healthz`).then((r) => r.json())) as {
    sessions: number;
  };
  return health.sessions;
}

describe('sessions survive the death of their worker', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[] = [];
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    workers = await Promise.all(
      ['w1', 'w2', 'w3'].map((id) => startWorkerProcess({ id, redisUrl: redis.url, prefix: PREFIX })),
    );
    gateway = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await redis?.close();
  });

  it('kill -9 of the owning worker: 50 sessions continue with no error on their next safe call', async () => {
    const clients: { client: Client; instances: string[] }[] = [];
    for (let i = 0; i < 50; i++) {
      const instances: string[] = [];
      const client = await connectV1(gateway.url, { instances });
      await client.callTool({ name: 'get_product', arguments: { id: 'p00010' } });
      clients.push({ client, instances });
    }
    const onVictim = clients.filter((c) => c.instances.at(-1) === 'w1');
    expect(onVictim.length).toBeGreaterThan(0);
    const before = await metricTotal(
      gateway.url.replace('/mcp', '/metrics'),
      'mcp_scale_gateway_session_rehomes_total',
    );

    await workers[0]!.stop('SIGKILL');

    const results = await Promise.allSettled(
      clients.map(({ client }) => client.callTool({ name: 'get_product', arguments: { id: 'p00011' } })),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    for (const result of results)
      expect(jsonOf((result as PromiseFulfilledResult<unknown>).value).id).toBe('p00011');
    for (const { client, instances } of onVictim) {
      expect(instances.at(-1)).not.toBe('w1');
      // The client kept its session id.
      expect(client.transport?.sessionId).toBeDefined();
    }
    const after = await metricTotal(
      gateway.url.replace('/mcp', '/metrics'),
      'mcp_scale_gateway_session_rehomes_total',
    );
    expect(after - before).toBe(onVictim.length);
    await Promise.all(clients.map(({ client }) => client.close()));
  });

  async function revive(index: number): Promise<void> {
    const old = workers[index]!;
    if (old.process.exitCode === null && old.process.signalCode === null) return;
    workers[index] = await startWorkerProcess({
      id: old.id,
      redisUrl: redis.url,
      prefix: PREFIX,
      port: old.port,
    });
    await waitUntil(
      async () => gateway.status().workers.find((w) => w.id === old.id)?.healthy === true,
      'revived worker healthy',
    );
  }

  it('a non-idempotent call in flight on a dying worker gets a clear JSON-RPC error; the session survives', async () => {
    await revive(0);
    const instances: string[] = [];
    let owner: WorkerProcess | undefined;
    const client = await connectV1(gateway.url, {
      instances,
      elicit: () => {
        // The confirmation question arrived: the call is now in flight on its worker. Kill it.
        owner = workers.find((w) => w.id === instances.at(-1));
        process.kill(owner!.pid, 'SIGKILL');
        return { action: 'accept', content: { confirm: true } };
      },
    });
    await expect(client.callTool({ name: 'confirm_order', arguments: { id: 'p00005' } })).rejects.toThrow(
      /stopped while handling this request; it was not retried because tool 'confirm_order' is not annotated/,
    );
    expect(owner).toBeDefined();
    const product = jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00006' } }));
    expect(product.id).toBe('p00006');
    expect(instances.at(-1)).not.toBe(owner!.id);
    await client.close();
  });

  it('two gateways racing to re-home one session move it once', async () => {
    await Promise.all([0, 1, 2].map((i) => revive(i)));
    const second = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
    });
    try {
      const instances: string[] = [];
      const client = await connectV1(gateway.url, { instances });
      await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
      const sessionId = client.transport!.sessionId!;
      const ownerIndex = workers.findIndex((w) => w.id === instances.at(-1));
      const survivors = workers.filter((_, i) => i !== ownerIndex);
      const metrics = [gateway.url, second.url].map((u) => u.replace('/mcp', '/metrics'));
      const total = async (name: string) =>
        (await Promise.all(metrics.map((m) => metricTotal(m, name)))).reduce((x, y) => x + y);
      const rehomesBefore = await total('mcp_scale_gateway_session_rehomes_total');
      const replaysBefore = await total('mcp_scale_gateway_session_replays_total');
      await client.close().catch(() => {});

      await workers[ownerIndex]!.stop('SIGKILL');
      const [a, b] = await Promise.all([
        rawCall(gateway.url, sessionId, 101, 'get_product', { id: 'p00002' }),
        rawCall(second.url, sessionId, 102, 'get_product', { id: 'p00003' }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.messages.at(-1).result).toBeDefined();
      expect(b.messages.at(-1).result).toBeDefined();
      expect(a.instance).toBe(b.instance);
      expect((await total('mcp_scale_gateway_session_rehomes_total')) - rehomesBefore).toBe(1);
      // Not even the loser replayed: the lock kept it waiting for the winner's move.
      expect((await total('mcp_scale_gateway_session_replays_total')) - replaysBefore).toBe(1);
      expect(survivors.map((w) => w.id)).toContain(a.instance);
    } finally {
      await second.close();
    }
  });

  it('a session presented by another user is as unknown as a missing one (404)', async () => {
    await Promise.all([0, 1, 2].map((i) => revive(i)));
    const byHeader: Authenticator = {
      async authenticate(req) {
        return { ok: true, user: String(req.headers['x-test-user'] ?? 'nobody') };
      },
    };
    const authed = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
      authenticator: byHeader,
    });
    try {
      const alice = await connectV1(authed.url, { headers: { 'x-test-user': 'alice' } });
      const profile = jsonOf(await alice.callTool({ name: 'get_user', arguments: {} }));
      expect(profile.user).toBe('alice');
      const sessionId = alice.transport!.sessionId!;
      const asBob = await fetch(authed.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'x-test-user': 'bob',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'get_user', arguments: {} },
        }),
      });
      expect(asBob.status).toBe(404);
      expect(await asBob.json()).toMatchObject({
        id: 7,
        error: { code: -32001, message: 'Session not found' },
      });
      const unknown = await fetch(authed.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': 'no-such-session',
          'x-test-user': 'alice',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }),
      });
      expect(unknown.status).toBe(404);
      expect(jsonOf(await alice.callTool({ name: 'get_user', arguments: {} })).user).toBe('alice');
      await alice.close();
    } finally {
      await authed.close();
    }
  });

  it('a stalled worker loses its stale transport once it recovers', async () => {
    await Promise.all([0, 1, 2].map((i) => revive(i)));
    const instances: string[] = [];
    const client = await connectV1(gateway.url, { instances });
    await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    const owner = workers.find((w) => w.id === instances.at(-1))!;
    const before = await sessionsOn(owner);
    process.kill(owner.pid, 'SIGSTOP');
    try {
      await waitUntil(
        () => gateway.status().workers.find((w) => w.id === owner.id)?.healthy === false,
        'stalled worker marked down',
      );
      const product = jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00004' } }));
      expect(product.id).toBe('p00004');
      expect(instances.at(-1)).not.toBe(owner.id);
    } finally {
      process.kill(owner.pid, 'SIGCONT');
    }
    await waitUntil(async () => (await sessionsOn(owner)) === before - 1, 'stale transport deleted');
    await client.close();
  });

  it('sessions list / show / kill, and a killed session gets 404', async () => {
    await Promise.all([0, 1, 2].map((i) => revive(i)));
    const client = await connectV1(gateway.url);
    const sessionId = client.transport!.sessionId!;
    const cli = (...args: string[]) =>
      run(process.execPath, [CLI, 'sessions', ...args, '--redis', redis.url, '--prefix', PREFIX]);
    const listed = JSON.parse((await cli('list', '--json')).stdout) as { id: string }[];
    expect(listed.map((s) => s.id)).toContain(sessionId);
    const shown = JSON.parse((await cli('show', sessionId, '--json')).stdout);
    expect(shown).toMatchObject({ id: sessionId, user: null });
    expect(shown.ttlMs).toBeGreaterThan(0);
    const human = (await cli('list')).stdout;
    expect(human).toMatch(/^SESSION\s+USER\s+WORKER/m);
    const killed = await cli('kill', sessionId);
    expect(killed.stdout).toContain(`killed session ${sessionId}`);
    await expect(cli('show', sessionId)).rejects.toMatchObject({ code: 1 });
    const after = await rawCall(gateway.url, sessionId, 5, 'get_product', { id: 'p00001' });
    expect(after.status).toBe(404);
    await client.close().catch(() => {});
  });

  it('Redis going away: known and new sessions keep working, status says degraded, all recovers', async () => {
    await Promise.all([0, 1, 2].map((i) => revive(i)));
    const known = await connectV1(gateway.url);
    await known.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    const port = redis.port;
    await redis.close();
    await waitUntil(() => gateway.status().degraded, 'gateway degraded');
    const ready = await fetch(gateway.url.replace('/mcp', '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, degraded: true });
    expect(jsonOf(await known.callTool({ name: 'get_product', arguments: { id: 'p00002' } })).id).toBe(
      'p00002',
    );
    const fresh = await connectV1(gateway.url);
    expect(jsonOf(await fresh.callTool({ name: 'get_product', arguments: { id: 'p00003' } })).id).toBe(
      'p00003',
    );
    expect(gateway.status().sessions.pendingWrites).toBeGreaterThan(0);

    redis = await startLocalRedis({ port });
    await waitUntil(
      () => !gateway.status().degraded && gateway.status().sessions.pendingWrites === 0,
      'pending session writes flushed',
      20_000,
    );
    const check = await run(process.execPath, [
      CLI,
      'sessions',
      'show',
      fresh.transport!.sessionId!,
      '--json',
      '--redis',
      redis.url,
      '--prefix',
      PREFIX,
    ]);
    expect(JSON.parse(check.stdout).id).toBe(fresh.transport!.sessionId);
    await known.close();
    await fresh.close();
  });
});
