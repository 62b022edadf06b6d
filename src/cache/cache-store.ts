import type { RedisClient } from '../redis/connection.js';
import { scanKeys } from '../redis/scan.js';

/** Lock value a holder leaves when its result may not be cached: waiters stop waiting and call the backend. */
export const UNCACHEABLE = '!';
/** How long that marker lives: long enough for the waiters polling now to see it. */
export const UNCACHEABLE_MARKER_MS = 1000;

export interface CacheCounts {
  hit: number;
  miss: number;
  bypass: number;
}

/**
 * Where entries and single-flight locks live: Redis (shared by every
 * worker) or this process's memory (single-node mode, per worker).
 */
export interface CacheStore {
  /** True when every worker sees the same entries and locks. */
  readonly shared: boolean;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** `SET lock token NX PX ttl`: true when this token now holds the lock. */
  lock(lockKey: string, token: string, ttlMs: number): Promise<boolean>;
  /** The holder's token, UNCACHEABLE, or undefined when nobody holds it. */
  lockValue(lockKey: string): Promise<string | undefined>;
  /** Extends the lock while this token still holds it. */
  renew(lockKey: string, token: string, ttlMs: number): Promise<void>;
  /** Lets go of the lock if this token holds it; `uncacheable` leaves the short marker instead. */
  release(lockKey: string, token: string, uncacheable: boolean): Promise<void>;
  /** Keys matching a glob pattern (SCAN on Redis, never KEYS). */
  keys(pattern: string): AsyncIterable<string>;
  unlink(keys: string[]): Promise<number>;
  addStats(statsKey: string, counts: CacheCounts): Promise<void>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], '${UNCACHEABLE}', 'PX', ARGV[3]) return 1 end
return redis.call('DEL', KEYS[1])`;

export class RedisCacheStore implements CacheStore {
  readonly shared = true;

  constructor(private readonly redis: RedisClient) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async lock(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(lockKey, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async lockValue(lockKey: string): Promise<string | undefined> {
    return (await this.redis.get(lockKey)) ?? undefined;
  }

  async renew(lockKey: string, token: string, ttlMs: number): Promise<void> {
    await this.redis.eval(RENEW, 1, lockKey, token, String(ttlMs));
  }

  async release(lockKey: string, token: string, uncacheable: boolean): Promise<void> {
    await this.redis.eval(RELEASE, 1, lockKey, token, uncacheable ? '1' : '0', String(UNCACHEABLE_MARKER_MS));
  }

  keys(pattern: string): AsyncIterable<string> {
    return scanKeys(this.redis, pattern, 1000);
  }

  async unlink(keys: string[]): Promise<number> {
    // One key per command: on a Redis Cluster the keys live in different slots.
    const removed = await Promise.all(keys.map((key) => this.redis.unlink(key)));
    return removed.reduce((sum, n) => sum + n, 0);
  }

  async addStats(statsKey: string, counts: CacheCounts): Promise<void> {
    const fields = (Object.entries(counts) as [keyof CacheCounts, number][]).filter(([, n]) => n > 0);
    await Promise.all(fields.map(([field, n]) => this.redis.hincrby(statsKey, field, n)));
  }
}

interface Timed {
  value: string;
  expiresAt: number;
}

/**
 * Single-node mode: entries live in this worker's memory, so each worker
 * has its own cache and single-flight works within a worker only.
 */
export class MemoryCacheStore implements CacheStore {
  readonly shared = false;
  private readonly entries = new Map<string, Timed>();
  private readonly locks = new Map<string, Timed>();

  constructor(private readonly maxEntries = 10_000) {}

  async get(key: string): Promise<string | undefined> {
    return live(this.entries, key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async lock(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    if (live(this.locks, lockKey) !== undefined) return false;
    this.locks.set(lockKey, { value: token, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async lockValue(lockKey: string): Promise<string | undefined> {
    return live(this.locks, lockKey);
  }

  async renew(lockKey: string, token: string, ttlMs: number): Promise<void> {
    const held = this.locks.get(lockKey);
    if (held && held.value === token) held.expiresAt = Date.now() + ttlMs;
  }

  async release(lockKey: string, token: string, uncacheable: boolean): Promise<void> {
    if (live(this.locks, lockKey) !== token) return;
    if (uncacheable)
      this.locks.set(lockKey, { value: UNCACHEABLE, expiresAt: Date.now() + UNCACHEABLE_MARKER_MS });
    else this.locks.delete(lockKey);
  }

  async *keys(pattern: string): AsyncIterable<string> {
    const regex = globToRegExp(pattern);
    for (const key of [...this.entries.keys()]) {
      if (regex.test(key) && live(this.entries, key) !== undefined) yield key;
    }
  }

  async unlink(keys: string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (this.entries.delete(key)) removed++;
    return removed;
  }

  async addStats(): Promise<void> {
    // Counters of a memory-mode worker are on its /metrics only.
  }

  /** Drops expired entries first, then the oldest ones. */
  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

function live(map: Map<string, Timed>, key: string): string | undefined {
  const entry = map.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    map.delete(key);
    return undefined;
  }
  return entry.value;
}

/** Redis glob (`*`, `?`) as a RegExp; cache patterns use nothing else. */
export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/gu, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'u');
}
