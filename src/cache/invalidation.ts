import type { KeySchema } from '../redis/keys.js';
import { argumentsMatch, parseEntry, type ArgumentPattern } from './cache-entry.js';
import { argumentsHash, entryKey, entryPattern, type CacheScope } from './cache-key.js';
import type { CacheStore } from './cache-store.js';

export interface InvalidationFilter {
  /** Only this tool's entries (omit for every tool). */
  tool?: string;
  /** Only entries keyed by this user (user-scoped tools); omit for every scope. */
  user?: string;
  /** Only entries whose arguments match (reads each candidate entry). */
  args?: ArgumentPattern;
  /**
   * The exact arguments of the entries to drop (with `tool`): their keys are
   * computed, not searched, so this costs one UNLINK whatever the size of the
   * keyspace. Covers the public entries, and the given user's when `user` is set.
   */
  exactArgs?: Record<string, unknown>;
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
  if (filter.tool !== undefined && filter.exactArgs !== undefined) {
    return invalidateExact(store, keys, filter.tool, filter.exactArgs, filter.user, options.dryRun === true);
  }
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

async function invalidateExact(
  store: CacheStore,
  keys: KeySchema,
  tool: string,
  args: Record<string, unknown>,
  user: string | undefined,
  dryRun: boolean,
): Promise<InvalidationResult> {
  const hash = argumentsHash(args);
  const scopes: CacheScope[] =
    user === undefined ? [{ kind: 'public' }] : [{ kind: 'public' }, { kind: 'user', user }];
  const candidates = scopes.flatMap((scope) =>
    (['2025', '2026'] as const).map((era) => entryKey(keys, { tool, scope, era, hash })),
  );
  const present: string[] = [];
  for (const key of candidates) if ((await store.get(key)) !== undefined) present.push(key);
  if (dryRun || present.length === 0) return { matched: present.length, removed: 0 };
  return { matched: present.length, removed: await store.unlink(present) };
}
