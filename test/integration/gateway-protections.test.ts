import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentitySigner } from '../../src/cluster/identity.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { startTestRedis } from '../helpers/redis.js';
import { signedIdentity, startTestGateway, startTestWorkerHost } from '../helpers/roles.js';

const PREFIX = 'protect:';
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const initialize = (id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw HTTP request with full control over Host and other headers fetch would not let us set. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const request = http.request(
        url,
        { method: options.method ?? 'POST', headers: options.headers },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
          );
        },
      );
      request.on('error', reject);
      request.end(options.body);
    },
  );
}

describe('gateway protections and bad input', () => {
  let redis: LocalRedis;
  let workers: WorkerHost[];
  let gateway: Gateway;
  let capped: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    workers = await Promise.all(
      ['w1', 'w2'].map((id) =>
        startTestWorkerHost({
          id,
          redisUrl: redis.url,
          prefix: PREFIX,
          maxBodyBytes: 4 * 1024 * 1024,
        }),
      ),
    );
    const targets = workers.map((w) => ({ id: w.id, url: w.url }));
    gateway = await startTestGateway({
      workers: targets,
      redisUrl: redis.url,
      prefix: PREFIX,
      maxBodyBytes: 64 * 1024,
      corsOrigins: ['https://app.example'],
    });
    capped = await startTestGateway({
      workers: [targets[0]!],
      redisUrl: redis.url,
      prefix: PREFIX,
      maxInflight: 1,
    });
  });
  afterAll(async () => {
    await Promise.all([gateway?.close(), capped?.close()]);
    await Promise.all(workers.map((w) => w.close()));
    await redis?.close();
  });

  it('malformed JSON gets a JSON-RPC parse error with HTTP 400', async () => {
    const response = await raw(gateway.url, {
      headers: MCP_HEADERS,
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: expect.stringMatching(/Parse error/) },
    });
  });

  it('a structurally invalid JSON-RPC message gets -32600 with HTTP 400, answering its id', async () => {
    const response = await raw(gateway.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '1.0', id: 9, method: 'ping' }),
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ id: 9, error: { code: -32600 } });
    const empty = await raw(gateway.url, { headers: MCP_HEADERS, body: '[]' });
    expect(empty.status).toBe(400);
  });

  it('a body over --max-body gets 413, before it is read in full', async () => {
    const big = JSON.stringify({ ...initialize(), padding: 'x'.repeat(80 * 1024) });
    const response = await raw(gateway.url, { headers: MCP_HEADERS, body: big });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error.message).toMatch(/exceeds 65536 bytes/);
  });

  it('a wrong Content-Type gets 415', async () => {
    const response = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, 'content-type': 'text/plain' },
      body: JSON.stringify(initialize()),
    });
    expect(response.status).toBe(415);
  });

  it('an unknown session gets 404 as the spec says', async () => {
    const response = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({
      id: 3,
      error: { code: -32001, message: 'Session not found' },
    });
  });

  it('2026: Mcp-Method / Mcp-Name that disagree with the body get 400', async () => {
    const body = {
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: {
        name: 'get_product',
        arguments: { id: 'p00001' },
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
      },
    };
    const headers = {
      ...MCP_HEADERS,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'get_user',
    };
    const response = await raw(gateway.url, { headers, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      id: 4,
      error: { code: -32020, message: expect.stringMatching(/Mcp-Name 'get_user'/) },
    });
    const method = await raw(gateway.url, {
      headers: { ...headers, 'mcp-method': 'tools/list', 'mcp-name': 'get_product' },
      body: JSON.stringify(body),
    });
    expect(method.status).toBe(400);
  });

  it('refuses a Host or Origin that is not loopback (DNS rebinding) with 403', async () => {
    const host = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, host: 'evil.example:8080' },
      body: JSON.stringify(initialize()),
    });
    expect(host.status).toBe(403);
    const origin = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, origin: 'http://evil.example' },
      body: JSON.stringify(initialize()),
    });
    expect(origin.status).toBe(403);
    const ok = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, origin: 'http://localhost:3000' },
      body: JSON.stringify(initialize()),
    });
    expect(ok.status).toBe(200);
  });

  it('CORS: preflight and exposed headers for the configured origin only', async () => {
    const preflight = await raw(gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Mcp-Session-Id/);
    const post = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, origin: 'https://app.example' },
      body: JSON.stringify(initialize()),
    });
    expect(post.status).toBe(200);
    expect(post.headers['access-control-expose-headers']).toMatch(/Mcp-Session-Id/);
    const other = await raw(gateway.url, { method: 'OPTIONS', headers: { origin: 'https://other.example' } });
    expect(other.status).toBe(403);
  });

  it('every proxied response names its worker in Mcp-Scale-Instance', async () => {
    const response = await raw(gateway.url, { headers: MCP_HEADERS, body: JSON.stringify(initialize()) });
    expect(['w1', 'w2']).toContain(response.headers['mcp-scale-instance']);
  });

  it('strips a forged identity header: the worker sees an anonymous caller', async () => {
    const forged = new IdentitySigner('an-attacker-does-not-know-the-real-secret!!').sign(
      { user: 'admin' },
      { method: 'POST' },
    );
    const client = await connectV1(gateway.url, { headers: { 'mcp-scale-identity': forged } });
    expect(jsonOf(await client.callTool({ name: 'get_user', arguments: {} })).user).toBeNull();
    await client.close();
  });

  it('a worker rejects an unsigned or badly signed identity with 403, and accepts a signed one', async () => {
    const worker = workers[0]!;
    const body = JSON.stringify(initialize());
    const bad = new IdentitySigner('some-other-secret-that-is-32-bytes-long').sign(
      { user: 'mallory' },
      { method: 'POST', body },
    );
    for (const identity of ['alice', bad]) {
      const response = await raw(worker.url, {
        headers: { ...MCP_HEADERS, 'mcp-scale-identity': identity },
        body,
      });
      expect(response.status).toBe(403);
    }
    const accepted = await raw(worker.url, {
      headers: { ...MCP_HEADERS, ...signedIdentity('alice', { body }) },
      body,
    });
    expect(accepted.status).toBe(200);
  });

  it('admin endpoints answer loopback clients; /readyz and /healthz answer anyone', async () => {
    const base = gateway.url.replace('/mcp', '');
    const status = await fetch(`${base}/_mcp-scale/status`).then((r) => r.json());
    expect(status.workers.map((w: { id: string }) => w.id)).toEqual(['w1', 'w2']);
    expect(status.workers[0]).toMatchObject({ healthy: true, pid: process.pid, port: workers[0]!.port });
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /mcp_scale_gateway_requests_total\{era="legacy",method="initialize",status="200"\}/,
    );
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('--admin-token: admin endpoints need the Bearer token', async () => {
    const guarded = await startTestGateway({
      workers: [{ id: 'w1', url: workers[0]!.url }],
      redisUrl: redis.url,
      prefix: PREFIX,
      adminToken: 'sekrit',
    });
    try {
      const base = guarded.url.replace('/mcp', '');
      expect((await fetch(`${base}/_mcp-scale/status`)).status).toBe(401);
      expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
      expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer sekrit' } })).status).toBe(
        200,
      );
    } finally {
      await guarded.close();
    }
  });

  it('DELETE ends the session everywhere: the worker drops it, the next request gets 404', async () => {
    const client = await connectV1(gateway.url);
    const sessionId = client.transport!.sessionId!;
    const sessionsOnWorkers = async () => {
      const healths = await Promise.all(
        workers.map((w) => fetch(`http://127.0.0.1:${w.port}/healthz`).then((r) => r.json())),
      );
      return healths.reduce((n: number, h: { sessions: number }) => n + h.sessions, 0);
    };
    const before = await sessionsOnWorkers();
    await (client.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
    const after = await raw(gateway.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }),
    });
    expect(after.status).toBe(404);
    const healths = await Promise.all(
      workers.map((w) => fetch(`http://127.0.0.1:${w.port}/healthz`).then((r) => r.json())),
    );
    expect(healths.reduce((n: number, h: { sessions: number }) => n + h.sessions, 0)).toBeLessThan(
      Math.max(before, 1),
    );
    await client.close();
  });

  it('long-lived GET streams never starve request traffic of upstream connections', async () => {
    // 40 open streams, more than the 32 pooled request connections per worker.
    const streams: AbortController[] = [];
    const clients = [];
    try {
      for (let i = 0; i < 40; i++) {
        const init = await raw(capped.url, { headers: MCP_HEADERS, body: JSON.stringify(initialize(i)) });
        const sessionId = String(init.headers['mcp-session-id']);
        const controller = new AbortController();
        streams.push(controller);
        const response = await fetch(capped.url, {
          headers: {
            accept: 'text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': '2025-11-25',
          },
          signal: controller.signal,
        });
        expect(response.status).toBe(200);
      }
      expect(capped.status().workers[0]!.streams).toBe(40);
      const client = await connectV1(capped.url);
      clients.push(client);
      const product = jsonOf(await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } }));
      expect(product.id).toBe('p00001');
    } finally {
      for (const controller of streams) controller.abort();
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('--upstream-timeout: a worker that does not start answering in time gets 504, not a retry', async () => {
    const impatient = await startTestGateway({
      workers: [{ id: 'w1', url: workers[0]!.url }],
      redisUrl: redis.url,
      prefix: PREFIX,
      upstreamTimeoutMs: 400,
    });
    try {
      const started = Date.now();
      const response = await raw(impatient.url, {
        headers: {
          ...MCP_HEADERS,
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'generate_report',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 12,
          method: 'tools/call',
          params: {
            name: 'generate_report',
            arguments: { seconds: 3 },
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        }),
      });
      expect(response.status).toBe(504);
      expect(JSON.parse(response.body)).toMatchObject({
        id: 12,
        error: { message: expect.stringMatching(/within 400 ms/) },
      });
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await impatient.close();
    }
  });

  it('two gateways on one Redis serve the same sessions interchangeably', async () => {
    const other = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
    });
    try {
      const instances: string[] = [];
      const client = await connectV1(gateway.url, { instances });
      await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
      const sessionId = client.transport!.sessionId!;
      for (let i = 0; i < 3; i++) {
        const response = await raw(other.url, {
          headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 100 + i,
            method: 'tools/call',
            params: { name: 'get_product', arguments: { id: 'p00002' } },
          }),
        });
        expect(response.status).toBe(200);
        expect(response.body).toContain('p00002');
        expect(response.headers['mcp-scale-instance']).toBe(instances.at(-1));
      }
      await client.close();
    } finally {
      await other.close();
    }
  });

  it('--max-inflight: work beyond the cap gets 503 with Retry-After, not a queue', async () => {
    const client = await connectV1(capped.url);
    const slow = client.callTool({ name: 'generate_report', arguments: { seconds: 1.5 } });
    // Wait until the slow call holds the only slot.
    const deadline = Date.now() + 10_000;
    while (capped.status().workers[0]!.inflight < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const second = await connectV1(capped.url).catch((error: Error) => error);
    expect(second).toBeInstanceOf(Error);
    expect(String(second)).toMatch(/503|concurrency limit|Service Unavailable/i);
    const direct = await raw(capped.url, { headers: MCP_HEADERS, body: JSON.stringify(initialize(77)) });
    expect(direct.status).toBe(503);
    expect(direct.headers['retry-after']).toBe('1');
    expect(JSON.parse(direct.body)).toMatchObject({
      id: 77,
      error: { message: expect.stringMatching(/concurrency limit/) },
    });
    await slow;
    await client.close();
  });
});
