import type { KeySchema } from '../redis/keys.js';
import { argumentsMatch, parseEntry, type ArgumentPattern } from './cache-entry.js';
import { entryPattern } from './cache-key.js';
import type { CacheStore } from './cache-store.js';

export interface InvalidationFilter {
  /** Only this tool's entries (omit for every tool). */
  tool?: string;
  /** Only entries keyed by this user (user-scoped tools); omit for every scope. */
  user?: string;
  /** Only entries whose arguments match (reads each candidate entry). */
  args?: ArgumentPattern;
}

export interface InvalidationResult {
  /** Entries that matched. */
  matched: number;
  /** Entries removed (0 on a dry run; may be below matched when some expired meanwhile). */
  removed: number;
}

/**
 * Removes the entries that match: SCAN over the narrowest key pattern the
 * filter allows (tool and user are key segments), then UNLINK in batches.
 * An argument pattern cannot be part of the key (arguments are hashed), so
 * each candidate is read and its stored arguments compared.
 */
export async function invalidateEntries(
  store: CacheStore,
  keys: KeySchema,
  filter: InvalidationFilter,
  options: { dryRun?: boolean } = {},
): Promise<InvalidationResult> {
  const pattern = entryPattern(keys, { tool: filter.tool, user: filter.user });
  let matched = 0;
  let removed = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length > 0 && !options.dryRun) removed += await store.unlink(batch);
    batch = [];
  };
  for await (const key of store.keys(pattern)) {
    if (filter.args !== undefined) {
      const text = await store.get(key);
      const entry = text === undefined ? undefined : parseEntry(text);
      if (!entry || !argumentsMatch(entry.args, filter.args)) continue;
    }
    matched++;
    batch.push(key);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return { matched, removed };
}
