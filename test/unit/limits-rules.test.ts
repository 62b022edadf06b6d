import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { defaultClusterConfig, type LimitsConfig } from '../../src/config/cluster-config.js';
import { UserError } from '../../src/errors.js';
import type { AdmissionRequest } from '../../src/gateway/admission.js';
import { classifyPost, isRejection } from '../../src/protocol/classify.js';
import { bindingStanding, limitedBody, rateLimitHeaders } from '../../src/limits/headers.js';
import { policyOfKey } from '../../src/limits/limit-keys.js';
import { policiesFrom } from '../../src/limits/policies.js';
import { chargesFor } from '../../src/limits/request-cost.js';

const limits = (overrides: Partial<LimitsConfig>): LimitsConfig => ({
  ...defaultClusterConfig().limits,
  ...overrides,
});
const minute = { points: 60, durationMs: 60_000 };

function request(body: unknown, user?: string): AdmissionRequest {
  const classified = classifyPost({}, body);
  if (isRejection(classified)) throw new Error(classified.message);
  return { req: {} as IncomingMessage, clientIp: '10.0.0.7', user, era: classified.era, classified };
}
const call = (id: number | string, name: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});

describe('what a request costs', () => {
  const policies = policiesFrom(
    limits({
      rateLimit: minute,
      ipRateLimit: { points: 100, durationMs: 60_000 },
      toolLimits: { search_products: { points: 10, durationMs: 60_000 } },
      toolCosts: { generate_report: 5 },
    }),
  );
  const summary = (r: AdmissionRequest) =>
    chargesFor(r, policies).map((c) => `${c.policy.name}:${c.subject}=${c.points}`);

  it('counts every JSON-RPC request, initialize included; notifications and responses never', () => {
    expect(summary(request({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }, 'alice'))).toEqual([
      'user:alice=1',
    ]);
    expect(summary(request({ jsonrpc: '2.0', method: 'notifications/initialized' }, 'alice'))).toEqual([]);
    expect(summary(request({ jsonrpc: '2.0', id: 5, result: { action: 'accept' } }, 'alice'))).toEqual([]);
    expect(summary({ req: {} as IncomingMessage, clientIp: '10.0.0.7', era: 'legacy' })).toEqual([]); // GET / DELETE
  });

  it('a batch costs the sum of its requests; tool costs and per-tool budgets apply per message', () => {
    const batch = [
      call(1, 'search_products'),
      call(2, 'generate_report'),
      { jsonrpc: '2.0', method: 'notifications/progress' },
      call(3, 'search_products'),
    ];
    expect(summary(request(batch, 'alice'))).toEqual(['user:alice=7', 'tool:search_products:alice=2']);
  });

  it('without a user (--auth none) the IP stands in for the user and the IP budget applies too', () => {
    expect(summary(request(call(1, 'get_product')))).toEqual(['user:10.0.0.7=1', 'ip:10.0.0.7=1']);
  });

  it('a continuation leg is not counted', () => {
    const r = request(call(1, 'confirm_order'), 'bob');
    expect(chargesFor(r, policies, () => true)).toEqual([]);
  });
});

describe('policies from the config', () => {
  it('refuses windows and blocks that are not whole seconds (rate-limiter-flexible counts seconds)', () => {
    expect(() => policiesFrom(limits({ rateLimit: { points: 5, durationMs: 500 } }))).toThrow(UserError);
    expect(() => policiesFrom(limits({ rateLimit: minute, blockMs: 1500 }))).toThrow(/whole seconds/);
    expect(policiesFrom(limits({ rateLimit: minute, blockMs: 30_000 })).user).toEqual({
      name: 'user',
      ...minute,
      blockMs: 30_000,
    });
  });

  it('names tool policies tool:<name> and refuses a tool name with a colon', () => {
    expect(policiesFrom(limits({ toolLimits: { a: minute } })).tools.get('a')?.name).toBe('tool:a');
    expect(() => policiesFrom(limits({ toolLimits: { 'a:b': minute } }))).toThrow(/':'/);
  });
});

describe('headers and bodies', () => {
  const user = { name: 'user', points: 60, durationMs: 60_000, blockMs: 0 };
  const tool = { name: 'tool:search_products', points: 10, durationMs: 60_000, blockMs: 0 };

  it('writes the IETF structured fields and the legacy X-RateLimit-* for the binding policy', () => {
    const standings = [
      { policy: user, remaining: 41, resetMs: 41_200 },
      { policy: tool, remaining: 3, resetMs: 12_001 },
    ];
    const binding = bindingStanding(standings)!;
    expect(binding.policy).toBe(tool);
    expect(rateLimitHeaders(standings, binding, 1_700_000_000_000)).toEqual({
      'ratelimit-policy': '"user";q=60;w=60, "tool:search_products";q=10;w=60',
      ratelimit: '"user";r=41;t=42, "tool:search_products";r=3;t=13',
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '3',
      'x-ratelimit-reset': '1700000013',
    });
  });

  it('never says t=0 or Retry-After 0', () => {
    expect(
      rateLimitHeaders([{ policy: user, remaining: 0, resetMs: 3 }], {
        policy: user,
        remaining: 0,
        resetMs: 3,
      }).ratelimit,
    ).toBe('"user";r=0;t=1');
  });

  it('the 429 body: one JSON-RPC error, or one per id for a batch', () => {
    const refusedBy = { policy: user, remaining: 0, resetMs: 41_500 };
    expect(JSON.parse(limitedBody([7], false, refusedBy))).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32029, message: 'Rate limit exceeded', data: { retryAfter: 42, policy: 'user' } },
    });
    expect(
      (JSON.parse(limitedBody(['a', 'b'], true, refusedBy)) as { id: string }[]).map((e) => e.id),
    ).toEqual(['a', 'b']);
  });
});

describe('limit keys', () => {
  it('finds the policy of a key, tool names included', () => {
    expect(policyOfKey('user:alice', ['user', 'tool:search'])).toBe('user');
    expect(policyOfKey('tool:search:alice', ['user', 'tool:search'])).toBe('tool:search');
    expect(policyOfKey('ip:::1', [])).toBe('ip');
    expect(policyOfKey('tool:x:bob', [])).toBe('tool:x');
  });
});
