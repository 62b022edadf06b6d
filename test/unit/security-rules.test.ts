import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  requestSubject,
  sealedFor,
  looksClusterMinted,
  WorkerRequestState,
} from '../../src/cluster/request-state.js';
import { checkHostAndOrigin, hostnameOf, hostPolicyFor } from '../../src/http/host-validation.js';
import { classifyPost, isRejection, nestingExceeds } from '../../src/protocol/classify.js';
import { methodLabel } from '../../src/protocol/mcp-methods.js';
import { isLoopbackHost } from '../../src/util/net.js';

const SECRET = 'unit-test-secret-0123456789-abcdefghijklmn';
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('security rules (issue 19)', () => {
  it('loopback is compared exactly: names that merely start with 127. are not loopback', () => {
    for (const host of ['localhost', '127.0.0.1', '127.9.8.7', '[::1]', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      '127.0.0.1.rebind.attacker.example',
      '127.attacker.example',
      'localhost.evil',
      '128.0.0.1',
      '127.0.0.1x',
      '0.0.0.0',
    ])
      expect(isLoopbackHost(host), host).toBe(false);
    expect(hostnameOf('127.0.0.1.rebind.attacker.example:8080')).toBe('127.0.0.1.rebind.attacker.example');
    expect(hostnameOf('LOCALHOST.:8080')).toBe('localhost');
    expect(hostnameOf('[::1]:8080')).toBe('[::1]');
    for (const bad of ['a@127.0.0.1', '127.0.0.1:80:80', '127.0.0.1/x', ''])
      expect(hostnameOf(bad), bad).toBeUndefined();
  });

  it('the Host/Origin check: rebinding names refused, --allowed-host names accepted, probes may omit Host', () => {
    const policy = hostPolicyFor('127.0.0.1', ['mcp.internal'], []);
    expect(checkHostAndOrigin(request({ host: '127.0.0.1.rebind.attacker.example:80' }), policy)).toMatch(
      /Invalid Host/,
    );
    expect(
      checkHostAndOrigin(request({ host: 'mcp.internal:80', origin: 'http://mcp.internal' }), policy),
    ).toBeUndefined();
    expect(
      checkHostAndOrigin(request({ host: 'localhost:80', origin: 'http://127.0.0.1.evil.example' }), policy),
    ).toMatch(/Invalid Origin/);
    expect(checkHostAndOrigin(request({}), policy)).toMatch(/Missing Host/);
    expect(checkHostAndOrigin(request({}), policy, true)).toBeUndefined();
  });

  it('one classification: initialize needs an id and is always 2025; labels are bounded; odd notifications are charged', () => {
    const idless = classifyPost({}, { jsonrpc: '2.0', method: 'initialize', params: {} });
    expect(isRejection(idless) && idless.status).toBe(400);
    const enveloped = classifyPost(
      {},
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
      },
    );
    expect(!isRejection(enveloped) && enveloped.era).toBe('legacy');
    const batch = classifyPost({}, [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
      { jsonrpc: '2.0', method: 'x-made-up' },
      { jsonrpc: '2.0', method: 'notifications/x' },
    ]);
    expect(!isRejection(batch) && batch.chargedNotifications.map((m) => m.method)).toEqual([
      'x-made-up',
      'notifications/x',
    ]);
    expect(methodLabel('tools/call')).toBe('tools/call');
    expect(methodLabel('a'.repeat(500_000))).toBe('other');
  });

  it('nesting is measured without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestingExceeds(deep, 256)).toBe(true);
    expect(nestingExceeds({ a: [{ b: [1, 2, { c: 3 }] }] }, 256)).toBe(false);
    const rejected = classifyPost(
      {},
      { jsonrpc: '2.0', id: 7, method: 'resources/list', params: { x: deep } },
    );
    expect(isRejection(rejected) && [rejected.status, rejected.id]).toEqual([400, 7]);
  });

  it('a requestState verifies only for its user, method, tool and arguments', async () => {
    const codec = new WorkerRequestState(SECRET);
    const params = { name: 'confirm_order', arguments: { id: 'p1', qty: 2 } };
    const state = await codec.run({ method: 'tools/call', user: 'alice', params }, () =>
      codec.mint({ n: 1 }),
    );
    expect(looksClusterMinted(state)).toBe(true);
    expect(looksClusterMinted('v1.e30.x')).toBe(false);
    const again = (user: string | undefined, p: unknown, method = 'tools/call') =>
      codec.run({ method, user, params: p }, () => codec.verify(state, {}));
    // Same arguments in another key order: the same digest.
    await expect(again('alice', { name: 'confirm_order', arguments: { qty: 2, id: 'p1' } })).resolves.toEqual(
      { n: 1 },
    );
    await expect(again('bob', params)).rejects.toThrow();
    await expect(again(undefined, params)).rejects.toThrow();
    await expect(again('alice', { ...params, name: 'search_products' })).rejects.toThrow();
    await expect(again('alice', { ...params, arguments: { id: 'p2', qty: 2 } })).rejects.toThrow();
    await expect(again('alice', params, 'prompts/get')).rejects.toThrow();
    expect(requestSubject(params).name).toBe('confirm_order');
    expect(
      sealedFor({ k: 'mcp-scale', p: null, t: 'confirm_order', a: requestSubject(params).args }, params),
    ).toBe(true);
  });
});
