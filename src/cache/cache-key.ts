import { createHash } from 'node:crypto';
import type { KeySchema } from '../redis/keys.js';

/**
 * Cache keys for tool results:
 *
 *   {p}cache:{tool}:{scope}:{era}:{hash}
 *
 *   tool   the tool name, percent-encoded outside [A-Za-z0-9_.-]
 *   scope  `public`, or `user.{user}` with the user percent-encoded the same way
 *   era    `2025` or `2026`: the two wire eras' results differ in shape
 *          (2026 adds `resultType`), so each era has its own entry
 *   hash   32 hex digits (128 bits) of SHA-256 over the canonical JSON of the
 *          arguments: object keys sorted at every depth, so `{a,b}` and `{b,a}`
 *          are one entry
 *
 * Encoded segments never contain `:` or a glob character (`* ? [ ] \`), so
 * neither a tool name, a user nor an argument can forge another key or widen
 * an admin SCAN pattern.
 */
export type CacheEra = '2025' | '2026';
export type CacheScope = { kind: 'public' } | { kind: 'user'; user: string };

export interface CacheKeyParts {
  tool: string;
  scope: CacheScope;
  era: CacheEra;
  hash: string;
}

export function eraOf(era: 'legacy' | 'modern'): CacheEra {
  return era === 'modern' ? '2026' : '2025';
}

/** Percent-encodes every byte outside [A-Za-z0-9_.-] (so `:`, `*`, `%` and spaces too). */
export function encodeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/gu, (char) =>
    Array.from(
      Buffer.from(char, 'utf8'),
      (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    ).join(''),
  );
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function scopeSegment(scope: CacheScope): string {
  return scope.kind === 'public' ? 'public' : `user.${encodeSegment(scope.user)}`;
}

export function userScopeSegment(user: string): string {
  return scopeSegment({ kind: 'user', user });
}

/**
 * JSON with object keys sorted at every depth. Arrays keep their order
 * (order is meaningful there); `undefined` members vanish as in JSON.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value)) ?? 'null';
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = sortDeep((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** The stable hash of a tool call's arguments (missing arguments hash like `{}`). */
export function argumentsHash(args: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(args ?? {}))
    .digest('hex')
    .slice(0, 32);
}

export function entryKey(keys: KeySchema, parts: CacheKeyParts): string {
  return keys.cacheEntry(encodeSegment(parts.tool), scopeSegment(parts.scope), parts.era, parts.hash);
}

/** The SCAN pattern for entries of one tool and/or one user (both optional). */
export function entryPattern(keys: KeySchema, filter: { tool?: string; user?: string } = {}): string {
  return keys.cachePattern(
    filter.tool === undefined ? '*' : encodeSegment(filter.tool),
    filter.user === undefined ? '*' : userScopeSegment(filter.user),
  );
}

/** Reads a key back into its parts; undefined for anything that is not a cache entry. */
export function parseEntryKey(keys: KeySchema, key: string): CacheKeyParts | undefined {
  const head = keys.cacheEntryPrefix();
  if (!key.startsWith(head)) return undefined;
  const segments = key.slice(head.length).split(':');
  if (segments.length !== 4) return undefined;
  const [tool, scope, era, hash] = segments as [string, string, string, string];
  if (era !== '2025' && era !== '2026') return undefined;
  let parsedScope: CacheScope;
  if (scope === 'public') parsedScope = { kind: 'public' };
  else if (scope.startsWith('user.')) parsedScope = { kind: 'user', user: decodeSegment(scope.slice(5)) };
  else return undefined;
  return { tool: decodeSegment(tool), scope: parsedScope, era, hash };
}
