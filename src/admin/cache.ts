import { parseEntry } from '../cache/cache-entry.js';
import { decodeSegment, entryPattern, parseEntryKey } from '../cache/cache-key.js';
import { RedisCacheStore } from '../cache/cache-store.js';
import { invalidateEntries, type InvalidationResult } from '../cache/invalidation.js';
import { UserError } from '../errors.js';
import { scanKeys } from '../redis/scan.js';
import type { AdminConnection } from './admin-redis.js';

export interface CacheToolStats {
  tool: string;
  entries: number;
  /** Estimated from MEMORY USAGE of up to `sample` entries of the tool. */
  memoryBytes: number;
  hits: number;
  misses: number;
  bypasses: number;
  /** hits / (hits + misses + bypasses) since the counters began; null before any call. */
  hitRatio: number | null;
}

export interface CacheStatsReport {
  entries: number;
  memoryBytes: number;
  /** How many entries MEMORY USAGE was asked about (the rest are extrapolated). */
  memorySampled: number;
  tools: CacheToolStats[];
}

/**
 * Entries per tool (SCAN), their memory (MEMORY USAGE on a sample,
 * extrapolated), and the hit ratio from the counters workers keep in
 * `{p}cache-stats:{tool}`.
 */
export async function cacheStats(
  admin: AdminConnection,
  options: { sample?: number } = {},
): Promise<CacheStatsReport> {
  const sample = options.sample ?? 50;
  const tools = new Map<string, { entries: number; sampled: number[] }>();
  const toolOf = (tool: string) => {
    let found = tools.get(tool);
    if (!found) {
      found = { entries: 0, sampled: [] };
      tools.set(tool, found);
    }
    return found;
  };
  for await (const key of scanKeys(admin.redis, entryPattern(admin.keys))) {
    const parts = parseEntryKey(admin.keys, key);
    if (!parts) continue;
    const stats = toolOf(parts.tool);
    stats.entries++;
    if (stats.sampled.length < sample) {
      const bytes = (await admin.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
      if (typeof bytes === 'number') stats.sampled.push(bytes);
    }
  }
  const counters = new Map<string, Record<string, string>>();
  const statsPrefix = admin.keys.cacheStats('');
  for await (const key of scanKeys(admin.redis, admin.keys.cacheStatsPattern())) {
    const tool = decodeSegment(key.slice(statsPrefix.length));
    counters.set(tool, await admin.redis.hgetall(key));
    toolOf(tool);
  }
  const report: CacheToolStats[] = [...tools.entries()].map(([tool, { entries, sampled }]) => {
    const counts = counters.get(tool) ?? {};
    const hits = Number(counts.hit ?? 0);
    const misses = Number(counts.miss ?? 0);
    const bypasses = Number(counts.bypass ?? 0);
    const calls = hits + misses + bypasses;
    const average = sampled.length > 0 ? sampled.reduce((sum, n) => sum + n, 0) / sampled.length : 0;
    return {
      tool,
      entries,
      memoryBytes: Math.round(average * entries),
      hits,
      misses,
      bypasses,
      hitRatio: calls > 0 ? hits / calls : null,
    };
  });
  report.sort((a, b) => a.tool.localeCompare(b.tool));
  return {
    entries: report.reduce((sum, t) => sum + t.entries, 0),
    memoryBytes: report.reduce((sum, t) => sum + t.memoryBytes, 0),
    memorySampled: [...tools.values()].reduce((sum, t) => sum + t.sampled.length, 0),
    tools: report,
  };
}

export interface CacheEntrySummary {
  key: string;
  tool: string;
  /** `public`, or the user the entry belongs to. */
  scope: 'public' | 'user';
  user: string | null;
  era: '2025' | '2026';
  hash: string;
  /** Milliseconds until the entry expires. */
  ttlMs: number;
  bytes: number;
  args: Record<string, unknown> | null;
}

/** Cache entries (the first `limit` SCAN finds), optionally one tool's and/or one user's. */
export async function listCacheEntries(
  admin: AdminConnection,
  filter: { tool?: string; user?: string; limit?: number } = {},
): Promise<CacheEntrySummary[]> {
  const limit = filter.limit ?? 100;
  const found: CacheEntrySummary[] = [];
  for await (const key of scanKeys(admin.redis, entryPattern(admin.keys, filter))) {
    const parts = parseEntryKey(admin.keys, key);
    if (!parts) continue;
    const [text, ttlMs] = await Promise.all([admin.redis.get(key), admin.redis.pttl(key)]);
    if (text === null || ttlMs < 0) continue; // expired between SCAN and GET
    found.push({
      key,
      tool: parts.tool,
      scope: parts.scope.kind,
      user: parts.scope.kind === 'user' ? parts.scope.user : null,
      era: parts.era,
      hash: parts.hash,
      ttlMs,
      bytes: Buffer.byteLength(text),
      args: parseEntry(text)?.args ?? null,
    });
    if (found.length >= limit) break;
  }
  return found.sort(
    (a, b) => a.tool.localeCompare(b.tool) || (a.user ?? '').localeCompare(b.user ?? '') || a.ttlMs - b.ttlMs,
  );
}

export interface FlushRequest {
  tool?: string;
  user?: string;
  all?: boolean;
  dryRun?: boolean;
}

/** Refuses a flush that does not say what to remove (one line, exit 2). */
export function checkFlushRequest(request: FlushRequest): void {
  if (request.all && (request.tool !== undefined || request.user !== undefined)) {
    throw new UserError('--all removes every entry: do not combine it with --tool or --user');
  }
  if (!request.all && request.tool === undefined && request.user === undefined) {
    throw new UserError('say what to flush: --tool NAME, --user NAME, or --all');
  }
}

/**
 * Removes cache entries (SCAN + UNLINK) by tool and/or user, or all of them.
 * Only `{p}cache:*` keys: sessions, limits, locks and counters stay. Workers
 * keep no in-process copy in Redis mode, so once this returns no worker
 * serves a removed entry.
 */
export async function flushCache(admin: AdminConnection, request: FlushRequest): Promise<InvalidationResult> {
  checkFlushRequest(request);
  return invalidateEntries(
    new RedisCacheStore(admin.redis),
    admin.keys,
    { tool: request.tool, user: request.user },
    { dryRun: request.dryRun },
  );
}
