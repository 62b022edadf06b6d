import { canonicalJson } from './cache-key.js';

/** The `_meta` key that tells a client where a tool result came from. */
export const CACHE_META_KEY = 'mcp-scale/cache';

/** Results larger than this are served but not stored (one huge answer must not evict a thousand small ones). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/** What a cache entry holds: the result as the server produced it, and the arguments (for invalidation by pattern). */
export interface StoredEntry {
  v: 1;
  tool: string;
  args: Record<string, unknown>;
  result: Record<string, unknown>;
  storedAt: number;
}

/**
 * Only complete, successful results are cached: never `isError: true`,
 * never a 2026 `input_required` (or any other non-complete) result, never a
 * JSON-RPC error (those never reach here).
 */
export function isCacheableResult(result: unknown): result is Record<string, unknown> {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return false;
  const record = result as { isError?: unknown; resultType?: unknown };
  if (record.isError === true) return false;
  return record.resultType === undefined || record.resultType === 'complete';
}

export function serializeEntry(entry: StoredEntry): string | undefined {
  const text = JSON.stringify(entry);
  return Buffer.byteLength(text) > MAX_ENTRY_BYTES ? undefined : text;
}

export function parseEntry(text: string): StoredEntry | undefined {
  try {
    const entry = JSON.parse(text) as Partial<StoredEntry>;
    if (entry.v !== 1 || typeof entry.result !== 'object' || entry.result === null) return undefined;
    return entry as StoredEntry;
  } catch {
    return undefined;
  }
}

/** The result with `_meta["mcp-scale/cache"]` set (a copy; the stored result stays unmarked). */
export function withCacheMarker(result: unknown, marker: 'hit' | 'miss'): unknown {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  const record = result as { _meta?: unknown };
  const meta = record._meta !== null && typeof record._meta === 'object' ? record._meta : {};
  return { ...record, _meta: { ...meta, [CACHE_META_KEY]: marker } };
}

/**
 * An argument pattern: a partial object (every given argument must equal the
 * entry's, compared as canonical JSON) or a predicate over the arguments.
 */
export type ArgumentPattern = Record<string, unknown> | ((args: Record<string, unknown>) => boolean);

export function argumentsMatch(args: Record<string, unknown>, pattern: ArgumentPattern): boolean {
  if (typeof pattern === 'function') return pattern(args);
  return Object.entries(pattern).every(([name, value]) => canonicalJson(args[name]) === canonicalJson(value));
}
