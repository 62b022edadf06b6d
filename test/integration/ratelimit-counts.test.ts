import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectAdmin, type AdminConnection } from '../../src/admin/admin-redis.js';
import { resetLimit, showLimit } from '../../src/admin/limits.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV2, jsonOf } from '../helpers/clients.js';
import {
  connectRecordingV1,
  KEYS,
  MODERN_META,
  modernCall,
  parseLimitList,
  post,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
  type PostRecord,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const PREFIX = 'rl-counts:';
const SMALL = 'rl-small:';
const alice = { 'x-api-key': KEYS.alice };
const bob = { authorization: `Bearer ${KEYS.bob}` };

describe('rate limits at the gateway: what counts, exact counts, headers', () => {
  let redis: LocalRedis;
  let worker: WorkerHost;
  /** alice and bob at 60/1m. */
  let gateway: Gateway;
  /** 10/1m, search_products 2/1m per user, generate_report costs 5. */
  let small: Gateway;
  let admin: AdminConnection;
  let smallAdmin: AdminConnection;

  beforeAll(async () => {
    redis = await startTestRedis();
    worker = await startTestWorker('w1', redis.url, PREFIX);
    const apiKeys = writeApiKeys();
    gateway = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: { auth: 'apikey', apiKeys, rateLimit: '60/1m' },
    });
    small = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: SMALL,
      settings: {
        auth: 'apikey',
        apiKeys,
        rateLimit: '10/1m',
        toolLimit: ['search_products=2/1m'],
        toolCost: ['generate_report=5'],
      },
    });
    admin = await connectAdmin({ url: redis.url, prefix: PREFIX, source: '--redis' });
    smallAdmin = await connectAdmin({ url: redis.url, prefix: SMALL, source: '--redis' });
  });
  afterAll(async () => {
    await admin?.close();
    await smallAdmin?.close();
    await small?.close();
    await gateway?.close();
    await worker?.close();
    await redis?.close();
  });
  beforeEach(async () => {
    for (const key of ['user:alice', 'user:bob']) {
      await resetLimit(admin, key);
      await resetLimit(smallAdmin, key);
    }
    await resetLimit(smallAdmin, 'tool:search_products:alice');
  });

  it('60/1m: initialize + 99 tools/call → 60 admitted, 40 limited; notifications and the elicitation reply pass uncounted', async () => {
    const posts: PostRecord[] = [];
    let elicitations = 0;
    const client = await connectRecordingV1(gateway.url, alice, posts, () => elicitations++);
    const calls: ('ok' | 'limited')[] = [];
    const call = async (name: string, args: Record<string, unknown>) => {
      try {
        const result = await client.callTool({ name, arguments: args });
        calls.push('ok');
        return result;
      } catch (error) {
        expect(String(error)).toMatch(/-32029|Rate limit exceeded/);
        calls.push('limited');
        return undefined;
      }
    };
    for (let i = 0; i < 58; i++) await call('get_product', { id: 'p00001' });
    // The 60th point: the server asks the user to confirm, and the answer
    // (a JSON-RPC response POSTed while the budget is at 0) must get through.
    const order = await call('confirm_order', { id: 'p00002' });
    expect(elicitations).toBe(1);
    expect(jsonOf(order)).toMatchObject({ ordered: true });
    for (let i = 0; i < 40; i++) await call('get_product', { id: 'p00001' });

    expect(calls.filter((c) => c === 'ok')).toHaveLength(59);
    expect(calls.filter((c) => c === 'limited')).toHaveLength(40);
    const requests = posts.filter((p) => p.kind === 'request');
    expect(requests.filter((p) => p.method === 'tools/call')).toHaveLength(99);
    expect(requests.filter((p) => p.status === 200)).toHaveLength(60); // initialize + 59 calls
    expect(requests.filter((p) => p.status === 429)).toHaveLength(40);
    expect(requests.find((p) => p.method === 'initialize')?.status).toBe(200);
    const notifications = posts.filter((p) => p.kind === 'notification');
    expect(notifications.map((p) => p.method)).toContain('notifications/initialized');
    expect(notifications.every((p) => p.status === 202)).toBe(true);
    const replies = posts.filter((p) => p.kind === 'response');
    expect(replies).toHaveLength(1);
    expect(replies[0]?.status).toBe(202);
    // Even now, with the budget spent, a notification is not limited.
    const late = await post(
      gateway.url,
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      {
        ...alice,
        'mcp-session-id': client.transport!.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
    );
    expect(late.status).toBe(202);

    const shown = await showLimit(admin, 'user:alice');
    // 40 refused single calls stay in the raw counter; `used` is what was admitted.
    expect(shown).toMatchObject({ policy: 'user', used: 60, counted: 100, remaining: 0, blocked: true });
    expect(shown.limit).toEqual({ points: 60, windowMs: 60_000, blockMs: 0 });
    await client.close();
  });

  it('every header and the JSON-RPC 429 body agree with the key in Redis', async () => {
    const redisKey = `${PREFIX}rl:user:alice`;
    const first = await modernCall(gateway.url, 1, 'get_product', { id: 'p00001' }, alice);
    expect(first.status).toBe(200);
    const pttl = await admin.redis.pttl(redisKey);
    expect(first.headers.get('ratelimit-policy')).toBe('"user";q=60;w=60');
    const standing = parseLimitList(first.headers.get('ratelimit')).user;
    expect(standing?.r).toBe(59);
    expect(Math.abs((standing?.t ?? 0) - Math.ceil(pttl / 1000))).toBeLessThanOrEqual(1);
    expect(first.headers.get('x-ratelimit-limit')).toBe('60');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('59');
    expectResetNear(first.headers.get('x-ratelimit-reset'), pttl);

    const rest = await Promise.all(
      Array.from({ length: 59 }, (_, i) =>
        modernCall(gateway.url, 100 + i, 'get_product', { id: 'p00001' }, alice),
      ),
    );
    expect(rest.every((r) => r.status === 200)).toBe(true);
    const remaining = rest.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 59 }, (_, i) => i));

    const limited = await modernCall(gateway.url, 77, 'get_product', { id: 'p00001' }, alice);
    const left = await admin.redis.pttl(redisKey);
    const t = Math.ceil(left / 1000);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Math.abs(Number(limited.headers.get('retry-after')) - t)).toBeLessThanOrEqual(1);
    expect(limited.headers.get('ratelimit-policy')).toBe('"user";q=60;w=60');
    expect(limited.headers.get('ratelimit')).toBe(`"user";r=0;t=${limited.headers.get('retry-after')}`);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('60');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expectResetNear(limited.headers.get('x-ratelimit-reset'), left);
    expect(limited.headers.get('content-type')).toBe('application/json');
    expect(limited.json).toEqual({
      jsonrpc: '2.0',
      id: 77,
      error: {
        code: -32029,
        message: 'Rate limit exceeded',
        data: { retryAfter: Number(limited.headers.get('retry-after')), policy: 'user' },
      },
    });
  });

  it('the window is fixed from the first hit: PTTL only runs down, and at its edge a fresh window starts', async () => {
    const redisKey = `${PREFIX}rl:user:bob`;
    const first = await modernCall(gateway.url, 1, 'get_product', { id: 'p00001' }, bob);
    const pttl1 = await admin.redis.pttl(redisKey);
    expect(pttl1).toBeGreaterThan(50_000);
    expect(pttl1).toBeLessThanOrEqual(60_000);
    const standing = parseLimitList(first.headers.get('ratelimit')).user;
    expect(standing?.r).toBe(59);
    expect(Math.abs((standing?.t ?? 0) - Math.ceil(pttl1 / 1000))).toBeLessThanOrEqual(1);
    // Wait for the clock to move (a readiness signal: the TTL itself), then hit again.
    await waitUntil(async () => (await admin.redis.pttl(redisKey)) < pttl1 - 5);
    await modernCall(gateway.url, 2, 'get_product', { id: 'p00001' }, bob);
    const pttl2 = await admin.redis.pttl(redisKey);
    expect(pttl2).toBeLessThan(pttl1); // a hit does not extend the window (not sliding)
    expect(await admin.redis.get(redisKey)).toBe('2');

    // The edge: make the window end now instead of sleeping a minute to it.
    await admin.redis.pexpire(redisKey, 1);
    await waitUntil(async () => (await admin.redis.exists(redisKey)) === 0);
    const fresh = await modernCall(gateway.url, 3, 'get_product', { id: 'p00001' }, bob);
    expect(fresh.status).toBe(200);
    expect(parseLimitList(fresh.headers.get('ratelimit')).user).toEqual({ r: 59, t: 60 });
    expect(await admin.redis.get(redisKey)).toBe('1');
    expect(await admin.redis.pttl(redisKey)).toBeGreaterThan(55_000);
  });

  it('per-tool limits are separate policies; a refused call costs the user budget nothing', async () => {
    const search = (id: number) => modernCall(small.url, id, 'search_products', { query: 'kettle' }, alice);
    const ok1 = await search(1);
    const ok2 = await search(2);
    expect([ok1.status, ok2.status]).toEqual([200, 200]);
    expect(ok2.headers.get('ratelimit-policy')).toBe('"user";q=10;w=60, "tool:search_products";q=2;w=60');
    expect(parseLimitList(ok2.headers.get('ratelimit'))).toMatchObject({
      user: { r: 8 },
      'tool:search_products': { r: 0 },
    });
    // X-RateLimit-* name the tightest policy.
    expect(ok2.headers.get('x-ratelimit-limit')).toBe('2');
    const refused = await search(3);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({
      id: 3,
      error: { code: -32029, data: { policy: 'tool:search_products' } },
    });
    expect(parseLimitList(refused.headers.get('ratelimit'))).toMatchObject({
      user: { r: 8 },
      'tool:search_products': { r: 0 },
    });
    expect(await smallAdmin.redis.get(`${SMALL}rl:user:alice`)).toBe('2');
    // Other tools are not limited by search_products' budget; bob has his own.
    expect((await modernCall(small.url, 4, 'get_product', { id: 'p00001' }, alice)).status).toBe(200);
    expect((await modernCall(small.url, 5, 'search_products', { query: 'tea' }, bob)).status).toBe(200);
    expect((await showLimit(smallAdmin, 'tool:search_products:alice')).used).toBe(2);
  });

  it('a tool cost takes that many points; a call too big for what is left is refused and refunded', async () => {
    const report = (id: number) => modernCall(small.url, id, 'generate_report', { seconds: 0 }, alice);
    const first = await report(1);
    expect(first.status).toBe(200);
    expect(parseLimitList(first.headers.get('ratelimit')).user).toMatchObject({ r: 5 });
    expect((await modernCall(small.url, 2, 'get_product', { id: 'p00001' }, alice)).status).toBe(200);
    expect((await modernCall(small.url, 3, 'get_product', { id: 'p00001' }, alice)).status).toBe(200);
    const tooBig = await report(4); // needs 5, 3 left
    expect(tooBig.status).toBe(429);
    expect(tooBig.json).toMatchObject({ error: { data: { policy: 'user' } } });
    expect(parseLimitList(tooBig.headers.get('ratelimit')).user).toMatchObject({ r: 3 });
    for (let id = 5; id < 8; id++) {
      expect((await modernCall(small.url, id, 'get_product', { id: 'p00001' }, alice)).status).toBe(200);
    }
    expect((await modernCall(small.url, 8, 'get_product', { id: 'p00001' }, alice)).status).toBe(429);
  });

  it('a batch counts each request; one that does not fit is refused whole with one error per id', async () => {
    const request = (id: string) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
    const notification = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'x' } };
    const tooMany = await post(
      small.url,
      [...Array.from({ length: 11 }, (_, i) => request(`a${i}`)), notification],
      bob,
    );
    expect(tooMany.status).toBe(429);
    expect(Array.isArray(tooMany.json)).toBe(true);
    const errors = tooMany.json as { id: string; error: { code: number } }[];
    expect(errors.map((e) => e.id)).toEqual(Array.from({ length: 11 }, (_, i) => `a${i}`));
    expect(errors.every((e) => e.error.code === -32029)).toBe(true);
    expect(await smallAdmin.redis.get(`${SMALL}rl:user:bob`)).toBe('0'); // refunded: it never ran

    const fits = await post(small.url, [request('b1'), notification, request('b2'), request('b3')], bob);
    expect(fits.status).not.toBe(429);
    expect(parseLimitList(fits.headers.get('ratelimit')).user).toMatchObject({ r: 7 });
  });

  it('2026: the leg that carries an input_required answer passes uncounted, even at 0 points left', async () => {
    const client = await connectV2(small.url, { headers: bob });
    const usedAfterConnect = Number((await smallAdmin.redis.get(`${SMALL}rl:user:bob`)) ?? 0);
    for (let i = 0; i < 9 - usedAfterConnect; i++) {
      await client.callTool({ name: 'get_product', arguments: { id: 'p00001' } });
    }
    expect(await smallAdmin.redis.get(`${SMALL}rl:user:bob`)).toBe('9');
    // Round one takes the 10th point; round two (a new request with
    // inputResponses + the sealed requestState) must not be refused.
    const order = jsonOf(await client.callTool({ name: 'confirm_order', arguments: { id: 'p00003' } }));
    expect(order).toMatchObject({ ordered: true });
    expect(await smallAdmin.redis.get(`${SMALL}rl:user:bob`)).toBe('10');
    await expect(client.callTool({ name: 'get_product', arguments: { id: 'p00001' } })).rejects.toThrow(
      /429|Rate limit/,
    );
    // A made-up requestState is an ordinary request: counted, so refused now.
    const forged = await post(
      small.url,
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: {
          name: 'confirm_order',
          arguments: { id: 'p00003' },
          inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
          requestState: 'v1.forged.state',
          _meta: MODERN_META,
        },
      },
      {
        ...bob,
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'confirm_order',
      },
    );
    expect(forged.status).toBe(429);
    await client.close();
  });
});

function expectResetNear(header: string | null, pttlMs: number): void {
  const expected = (Date.now() + pttlMs) / 1000;
  expect(Math.abs(Number(header) - expected)).toBeLessThanOrEqual(2);
}
