import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectAdmin, type AdminConnection } from '../../src/admin/admin-redis.js';
import { resetLimit } from '../../src/admin/limits.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import {
  KEYS,
  MODERN_META,
  post,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { signedIdentity } from '../helpers/roles.js';

/**
 * The penetration test's repros against a real gateway, worker and Redis
 * (issue 19, items 1 to 5): each failed on the code before the fix.
 */
const PREFIX = 'sec-gw:';
const alice: Record<string, string> = { 'x-api-key': KEYS.alice };
const bob: Record<string, string> = { 'x-api-key': KEYS.bob };
/** A 2026 client that can answer elicitations. */
const ELICIT_META = {
  ...MODERN_META,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};
const initialize = (params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
    ...params,
  },
});

/** A raw request: fetch cannot set Host. */
function raw(url: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(url, { method: body ? 'POST' : 'GET', headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('security: what the penetration test found, at the gateway', () => {
  let redis: LocalRedis;
  let worker: WorkerHost;
  let gateway: Gateway;
  let admin: AdminConnection;

  beforeAll(async () => {
    redis = await startTestRedis();
    worker = await startTestWorker('w1', redis.url, PREFIX);
    gateway = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: {
        auth: 'apikey',
        apiKeys: writeApiKeys(),
        rateLimit: '100/1m',
        toolLimit: ['search_products=5/1m'],
      },
    });
    admin = await connectAdmin({ url: redis.url, prefix: PREFIX, source: '--redis' });
  });
  afterAll(async () => {
    await admin?.close();
    await gateway?.close();
    await worker?.close();
    await redis?.close();
  });
  beforeEach(async () => {
    for (const key of ['user:alice', 'user:bob', 'tool:search_products:alice', 'tool:search_products:bob'])
      await resetLimit(admin, key);
  });
  const used = async (key: string) => Number((await admin.redis.get(`${PREFIX}rl:${key}`)) ?? 0);

  it('1. a rebinding Host (127.0.0.1.<attacker domain>) is refused on the MCP endpoint and every ops endpoint', async () => {
    const port = gateway.port;
    const evil = `127.0.0.1.rebind.attacker.example:${port}`;
    const headers = {
      host: evil,
      origin: `http://${evil}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...alice,
    };
    const body = JSON.stringify({ ...initialize(), id: 1 });
    const mcp = await raw(gateway.url, headers, body);
    expect(mcp.status).toBe(403);
    expect(mcp.body).toContain('Invalid Host header');
    for (const path of ['/_mcp-scale/status', '/metrics', '/healthz', '/readyz']) {
      const refused = await raw(`http://127.0.0.1:${port}${path}`, { host: evil });
      expect(refused.status, path).toBe(403);
      expect(refused.body).not.toContain('"pid"');
    }
    const workerPort = worker.port;
    for (const path of ['/metrics', '/healthz']) {
      const refused = await raw(`http://127.0.0.1:${workerPort}${path}`, {
        host: `127.0.0.1.rebind.attacker.example:${workerPort}`,
      });
      expect(refused.status, `worker ${path}`).toBe(403);
    }
    // Loopback names and literals still pass, and a probe without Host too.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `127.1.2.3:${port}`]) {
      expect((await raw(`http://127.0.0.1:${port}/_mcp-scale/status`, { host })).status, host).toBe(200);
    }
    expect((await raw(`http://127.0.0.1:${port}/healthz`, {})).status).toBe(200);
  });

  it('2. a 2026 requestState replayed on other tools, arguments or users is refused; the real round two passes uncounted', async () => {
    const call = (
      id: number,
      tool: string,
      args: Record<string, unknown>,
      who: Record<string, string>,
      extra = {},
    ) =>
      post(
        gateway.url,
        {
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: tool, arguments: args, ...extra, _meta: ELICIT_META },
        },
        { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': tool, ...who },
      );
    const roundOne = await call(1, 'confirm_order', { id: 'p00002' }, alice);
    expect(roundOne.status).toBe(200);
    const result = (roundOne.json as { result: { requestState?: string } }).result;
    const state = result.requestState as string;
    expect(typeof state).toBe('string');
    const afterRoundOne = await used('user:alice');
    expect(afterRoundOne).toBe(1);

    const replay = (id: number, tool: string, args: Record<string, unknown>, who = alice, inputs = {}) =>
      call(id, tool, args, who, { inputResponses: inputs, requestState: state });
    const replays = [];
    for (let i = 0; i < 20; i++) replays.push(await replay(10 + i, 'search_products', { query: 'lamp' }));
    expect(replays.map((r) => r.status)).toEqual(Array(20).fill(400));
    expect((replays[0]?.json as { error: { code: number } }).error.code).toBe(-32602);
    // Same tool, other arguments; same tool and arguments, another user.
    expect((await replay(40, 'confirm_order', { id: 'p00003' })).status).toBe(400);
    expect((await replay(41, 'confirm_order', { id: 'p00002' }, bob)).status).toBe(400);
    expect(await used('user:alice')).toBe(afterRoundOne);
    expect(await used('tool:search_products:alice')).toBe(0);
    expect(await used('user:bob')).toBe(0);

    // The genuine round two: same user, tool and arguments, on a new id.
    const confirm = { confirm: { action: 'accept', content: { confirm: true } } };
    const roundTwo = await replay(42, 'confirm_order', { id: 'p00002' }, alice, confirm);
    expect(roundTwo.status).toBe(200);
    const text = (roundTwo.json as { result: { content: { text: string }[] } }).result.content[0]?.text;
    expect(JSON.parse(text ?? '{}')).toMatchObject({ ordered: true });
    expect(await used('user:alice')).toBe(afterRoundOne);
  });

  it('3. an initialize without an id is refused (400, -32600) at the gateway and at the worker; no session opens', async () => {
    const sessionsBefore = await workerSessions(worker);
    for (let i = 0; i < 20; i++) {
      const refused = await post(gateway.url, initialize(), alice);
      expect(refused.status).toBe(400);
      expect((refused.json as { error: { code: number } }).error.code).toBe(-32600);
    }
    // Straight at the worker, with a valid signed identity: refused the same way.
    const body = initialize();
    const direct = await post(worker.url, body, signedIdentity('alice', { body: JSON.stringify(body) }));
    expect(direct.status).toBe(400);
    expect(await workerSessions(worker)).toBe(sessionsBefore);
  });

  it('5. an initialize carrying a 2026 _meta envelope is a 2025 handshake to gateway and worker alike', async () => {
    const known = gateway.status().sessions.known;
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...alice,
      },
      body: JSON.stringify({ ...initialize({ _meta: MODERN_META }), id: 1 }),
    });
    await response.text();
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id') ?? '';
    // The gateway's own id (not the worker's `w1.…`), and it is tracked.
    expect(sessionId).not.toMatch(/^w1\./);
    expect(sessionId.length).toBeGreaterThan(20);
    expect(gateway.status().sessions.known).toBe(known + 1);
  });

  it('4. unknown methods are labelled `other` (bounded /metrics) and each out-of-spec notification costs a point', async () => {
    const metricsUrl = gateway.url.replace('/mcp', '/metrics');
    const sizeBefore = (await fetch(metricsUrl).then((r) => r.text())).length;
    for (let i = 0; i < 50; i++) {
      const method = `notifications/x-${i}-${'a'.repeat(1000)}`;
      const sent = await post(gateway.url, { jsonrpc: '2.0', method }, alice);
      expect(sent.status).not.toBe(500);
    }
    expect(await used('user:alice')).toBe(50);
    // The spec's own notifications stay free.
    for (const method of ['notifications/initialized', 'notifications/cancelled', 'notifications/progress'])
      await post(
        gateway.url,
        { jsonrpc: '2.0', method, params: { requestId: 1, progressToken: 1, progress: 1 } },
        alice,
      );
    expect(await used('user:alice')).toBe(50);
    const text = await fetch(metricsUrl).then((r) => r.text());
    expect(text).not.toContain('notifications/x-');
    expect(text).toMatch(/mcp_scale_gateway_requests_total\{era="legacy",method="other",status="\d+"\} 50/);
    expect(text.length - sizeBefore).toBeLessThan(10_000);
  });
});

async function workerSessions(worker: WorkerHost): Promise<number> {
  const health = (await fetch(worker.url.replace('/mcp', '/healthz')).then((r) => r.json())) as {
    sessions: number;
  };
  return health.sessions;
}
