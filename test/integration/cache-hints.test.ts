import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/gateway/admission.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { WorkerHost } from '../../src/worker/host.js';
import type { ServerFactory } from '../../src/worker/server-module.js';
import { startCacheWorker } from '../helpers/cache-fixtures.js';
import { startTestGateway } from '../helpers/roles.js';

const byHeader: Authenticator = {
  async authenticate(req) {
    const user = req.headers['x-test-user'];
    return typeof user === 'string' ? { ok: true, user } : { ok: true };
  },
};

let nextId = 1;

/** One raw 2026-07-28 request through the gateway (what a v2 client sends, without its own cache). */
async function modern(url: string, method: string, params: Record<string, unknown> = {}, user?: string) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
  };
  if (typeof params.uri === 'string') headers['mcp-name'] = params.uri;
  if (user) headers['x-test-user'] = user;
  const id = nextId++;
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  const message = (await response.json()) as {
    id: number;
    result?: Record<string, unknown>;
    error?: unknown;
  };
  expect(message.id).toBe(id);
  return {
    status: response.status,
    cache: response.headers.get('mcp-scale-cache'),
    // Which worker answered; none for an answer from the gateway's cache.
    instance: response.headers.get('mcp-scale-instance'),
    message,
  };
}

/** A v2 server whose resources/list is hinted private (per user) for a minute. */
const privateHints: ServerFactory = () => {
  const server = new McpServer(
    { name: 'private-hints', version: '1.0.0' },
    { cacheHints: { 'resources/list': { ttlMs: 60_000, cacheScope: 'private' } } },
  );
  server.registerResource('note', 'note://one', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'hello' }],
  }));
  return server;
};

describe('2026-era cache hints at the gateway', () => {
  let demo: WorkerHost;
  let hinted: WorkerHost;
  let demoGateway: Gateway;
  let hintedGateway: Gateway;

  beforeAll(async () => {
    [demo, hinted] = await Promise.all([
      startCacheWorker({ id: 'demo', prefix: 'hints:' }),
      startCacheWorker({ id: 'hinted', prefix: 'hints2:', serverFactory: privateHints }),
    ]);
    [demoGateway, hintedGateway] = await Promise.all([
      startTestGateway({ workers: [{ id: demo.id, url: demo.url }], authenticator: byHeader }),
      startTestGateway({ workers: [{ id: hinted.id, url: hinted.url }], authenticator: byHeader }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([demoGateway?.close(), hintedGateway?.close()]);
    await Promise.all([demo?.close(), hinted?.close()]);
  });

  it('answers public hinted results from the gateway for everyone, with the TTL that is left', async () => {
    const first = await modern(demoGateway.url, 'resources/templates/list', {}, 'alice');
    expect([first.cache, first.instance]).toEqual(['miss', 'demo']);
    expect(first.message.result).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' });
    const second = await modern(demoGateway.url, 'resources/templates/list', {}, 'bob');
    const anonymous = await modern(demoGateway.url, 'resources/templates/list');
    expect([second.cache, anonymous.cache]).toEqual(['hit', 'hit']);
    expect([second.instance, anonymous.instance]).toEqual([null, null]);
    expect(second.message.result?.resourceTemplates).toEqual(first.message.result?.resourceTemplates);
    expect(second.message.result?.ttlMs).toBeGreaterThan(0);
    expect(second.message.result?.ttlMs).toBeLessThanOrEqual(60_000);

    const discover = [
      await modern(demoGateway.url, 'server/discover'),
      await modern(demoGateway.url, 'server/discover'),
    ];
    expect(discover.map((d) => d.cache)).toEqual(['miss', 'hit']);
    expect(discover[1]!.message.result?.supportedVersions).toEqual(
      discover[0]!.message.result?.supportedVersions,
    );
  });

  it('never caches results without a hint (ttlMs 0): tools/list, resources/read, tools/call', async () => {
    for (const [method, params] of [
      ['tools/list', {}],
      ['resources/read', { uri: 'inventory://p00001' }],
    ] as const) {
      const both = [
        await modern(demoGateway.url, method, params),
        await modern(demoGateway.url, method, params),
      ];
      expect(both.map((r) => r.cache)).toEqual(['miss', 'miss']);
      expect(both.map((r) => r.instance)).toEqual(['demo', 'demo']);
      expect(both[0]!.message.result?.ttlMs ?? 0).toBe(0);
    }
    const call = await modern(demoGateway.url, 'tools/call', {
      name: 'get_product',
      arguments: { id: 'p00001' },
    });
    expect(call.cache).toBeNull();
  });

  it('keys private hinted results by user, and never keeps them for anonymous callers', async () => {
    const alice = [
      await modern(hintedGateway.url, 'resources/list', {}, 'alice'),
      await modern(hintedGateway.url, 'resources/list', {}, 'alice'),
    ];
    expect(alice.map((r) => r.cache)).toEqual(['miss', 'hit']);
    expect(alice.map((r) => r.instance)).toEqual(['hinted', null]);
    expect(alice[0]!.message.result).toMatchObject({ cacheScope: 'private' });
    expect((await modern(hintedGateway.url, 'resources/list', {}, 'bob')).cache).toBe('miss');
    const anonymous = [
      await modern(hintedGateway.url, 'resources/list'),
      await modern(hintedGateway.url, 'resources/list'),
    ];
    expect(anonymous.map((r) => r.cache)).toEqual(['miss', 'miss']);
  });
});
