import { describe, expect, it } from 'vitest';
import { argumentsMatch, isCacheableResult, withCacheMarker } from '../../src/cache/cache-entry.js';
import {
  argumentsHash,
  canonicalJson,
  encodeSegment,
  entryKey,
  entryPattern,
  parseEntryKey,
} from '../../src/cache/cache-key.js';
import { decideTool, resolveCacheSettings } from '../../src/cache/cache-policy.js';
import { globToRegExp } from '../../src/cache/cache-store.js';
import { KeySchema } from '../../src/redis/keys.js';

const keys = new KeySchema('t:');

describe('cache keys', () => {
  it('hash arguments independently of key order, at every depth', () => {
    const one = { id: 'p1', filter: { min: 1, max: 9, tags: ['a', 'b'] } };
    const two = { filter: { tags: ['a', 'b'], max: 9, min: 1 }, id: 'p1' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(argumentsHash(one)).toBe(argumentsHash(two));
    expect(argumentsHash(one)).toMatch(/^[0-9a-f]{32}$/);
    // Array order is meaningful; different values are different entries.
    expect(argumentsHash({ tags: ['b', 'a'] })).not.toBe(argumentsHash({ tags: ['a', 'b'] }));
    expect(argumentsHash({ id: 'p1' })).not.toBe(argumentsHash({ id: 'p2' }));
    expect(argumentsHash(undefined)).toBe(argumentsHash({}));
  });

  it('builds the documented key and reads it back', () => {
    const key = entryKey(keys, {
      tool: 'get_user',
      scope: { kind: 'user', user: 'alice' },
      era: '2026',
      hash: argumentsHash({}),
    });
    expect(key).toBe(`t:cache:get_user:user.alice:2026:${argumentsHash({})}`);
    expect(parseEntryKey(keys, key)).toEqual({
      tool: 'get_user',
      scope: { kind: 'user', user: 'alice' },
      era: '2026',
      hash: argumentsHash({}),
    });
    expect(parseEntryKey(keys, 't:cache-lock:get_user:public:2025:abc')).toBeUndefined();
  });

  it('tool names and users cannot inject separators or widen a SCAN pattern', () => {
    const sneaky = 'bob:public:2025:*';
    expect(encodeSegment(sneaky)).not.toMatch(/[:*?[\]\\]/);
    const key = entryKey(keys, {
      tool: 'a:b',
      scope: { kind: 'user', user: sneaky },
      era: '2025',
      hash: 'h',
    });
    expect(key.split(':')).toHaveLength(6); // prefix, cache, tool, scope, era, hash
    expect(parseEntryKey(keys, key)).toMatchObject({ tool: 'a:b', scope: { kind: 'user', user: sneaky } });
    // A pattern for user "*" matches only the user literally named "*".
    const pattern = globToRegExp(entryPattern(keys, { user: '*' }));
    expect(
      pattern.test(entryKey(keys, { tool: 't', scope: { kind: 'user', user: '*' }, era: '2025', hash: 'h' })),
    ).toBe(true);
    expect(
      pattern.test(
        entryKey(keys, { tool: 't', scope: { kind: 'user', user: 'alice' }, era: '2025', hash: 'h' }),
      ),
    ).toBe(false);
    expect(encodeSegment('üser ä')).toBe('%C3%BCser%20%C3%A4');
  });
});

describe('cache policy', () => {
  const settings = resolveCacheSettings(
    {
      ttlMs: { read: 60_000, write: 60_000, forced: 60_000 },
      scope: { read: 'user' },
      force: ['forced'],
      timeoutMs: 50,
    },
    false,
  );

  it('caches read-only tools with a TTL, forced tools, and nothing else', () => {
    expect(decideTool(settings, 'read', true)).toEqual({
      cache: true,
      decision: { ttlMs: 60_000, scope: 'user' },
    });
    expect(decideTool(settings, 'write', false)).toEqual({ cache: false, reason: 'not-read-only' });
    expect(decideTool(settings, 'write', undefined)).toEqual({ cache: false, reason: 'not-read-only' });
    expect(decideTool(settings, 'forced', false)).toEqual({
      cache: true,
      decision: { ttlMs: 60_000, scope: 'public' },
    });
    expect(decideTool(settings, 'other', true)).toEqual({ cache: false, reason: 'no-ttl' });
  });

  it('gives the demo its defaults only when no TTL is configured, get_user always per user', () => {
    const demo = resolveCacheSettings(undefined, true);
    expect(demo.ttlMs).toEqual({
      get_product: 300_000,
      search_products: 60_000,
      get_inventory: 10_000,
      get_user: 600_000,
    });
    expect(demo.scope.get_user).toBe('user');
    const configured = resolveCacheSettings(
      { ttlMs: { get_product: 1000 }, scope: {}, force: [], timeoutMs: 20 },
      true,
    );
    expect(configured.ttlMs).toEqual({ get_product: 1000 });
    expect(configured.scope.get_user).toBe('user');
    expect(configured.timeoutMs).toBe(20);
    expect(resolveCacheSettings(undefined, false).ttlMs).toEqual({});
  });
});

describe('cache entries', () => {
  it('never caches errors or unfinished 2026 results', () => {
    expect(isCacheableResult({ content: [] })).toBe(true);
    expect(isCacheableResult({ content: [], resultType: 'complete' })).toBe(true);
    expect(isCacheableResult({ content: [], isError: true })).toBe(false);
    expect(isCacheableResult({ resultType: 'input_required', inputRequests: {} })).toBe(false);
    expect(isCacheableResult(undefined)).toBe(false);
  });

  it('marks a copy, keeping other _meta', () => {
    const result = { content: [], _meta: { other: 1 } };
    expect(withCacheMarker(result, 'hit')).toEqual({
      content: [],
      _meta: { other: 1, 'mcp-scale/cache': 'hit' },
    });
    expect(result._meta).toEqual({ other: 1 });
  });

  it('matches argument patterns by value, or by predicate', () => {
    expect(argumentsMatch({ id: 'p1', limit: 10 }, { id: 'p1' })).toBe(true);
    expect(argumentsMatch({ id: 'p1', f: { a: 1, b: 2 } }, { f: { b: 2, a: 1 } })).toBe(true);
    expect(argumentsMatch({ id: 'p2' }, { id: 'p1' })).toBe(false);
    expect(argumentsMatch({ id: 'p2' }, (args) => String(args.id).startsWith('p'))).toBe(true);
  });
});
