import type { RedisClient } from '../../redis/connection.js';
import type { KeySchema } from '../../redis/keys.js';

/**
 * Which live sessions each user holds, for `--max-sessions-per-user`: a
 * sorted set per user (Redis, shared by gateways; or this process in memory
 * mode) of session ids scored by last use. Entries not used for a session
 * TTL are dropped as the sessions themselves expire.
 */
export interface UserSessionIndex {
  /**
   * Adds a session and returns how many the user now holds, with the
   * oldest ids (least recently used first) when that is over `max`: the
   * eviction candidates, a few more than strictly needed so busy ones can be skipped.
   */
  claim(owner: string, id: string, max: number, ttlMs: number): Promise<{ count: number; oldest: string[] }>;
  /** Marks a session used now. */
  touch(owner: string, id: string): Promise<void>;
  /** Takes a session out; false when it was not there (someone else took it first). */
  release(owner: string, id: string): Promise<boolean>;
  count(owner: string, ttlMs?: number): Promise<number>;
  list(owner: string): Promise<string[]>;
}

/** How many extra candidates a claim returns beyond those over the cap. */
const SPARE_CANDIDATES = 16;

const CLAIM_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
local over = n - tonumber(ARGV[4])
if over <= 0 then return {n} end
local ids = redis.call('ZRANGE', KEYS[1], 0, over + ${SPARE_CANDIDATES} - 1)
table.insert(ids, 1, n)
return ids`;

export class RedisUserSessionIndex implements UserSessionIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  async claim(owner: string, id: string, max: number, ttlMs: number) {
    const reply = (await this.redis.eval(
      CLAIM_SCRIPT,
      1,
      this.keys.userSessions(owner),
      Date.now(),
      id,
      ttlMs,
      max,
    )) as [number, ...string[]];
    const [count, ...oldest] = reply;
    return { count: Number(count), oldest };
  }

  async touch(owner: string, id: string) {
    await this.redis.zadd(this.keys.userSessions(owner), 'XX', Date.now(), id);
  }

  async release(owner: string, id: string) {
    return (await this.redis.zrem(this.keys.userSessions(owner), id)) > 0;
  }

  async count(owner: string, ttlMs?: number) {
    const key = this.keys.userSessions(owner);
    return ttlMs === undefined ? this.redis.zcard(key) : this.redis.zcount(key, Date.now() - ttlMs, '+inf');
  }

  async list(owner: string) {
    return this.redis.zrange(this.keys.userSessions(owner), 0, -1);
  }
}

/** Single-node mode: the same in this process. */
export class MemoryUserSessionIndex implements UserSessionIndex {
  private readonly users = new Map<string, Map<string, number>>();

  async claim(owner: string, id: string, max: number, ttlMs: number) {
    const now = Date.now();
    let sessions = this.users.get(owner);
    if (!sessions) this.users.set(owner, (sessions = new Map()));
    sessions.delete(id);
    sessions.set(id, now);
    for (const [known, usedAt] of sessions) if (usedAt < now - ttlMs) sessions.delete(known);
    const over = sessions.size - max;
    const oldest =
      over > 0
        ? [...sessions.entries()]
            .sort((a, b) => a[1] - b[1])
            .slice(0, over + SPARE_CANDIDATES)
            .map(([known]) => known)
        : [];
    return { count: sessions.size, oldest };
  }

  async touch(owner: string, id: string) {
    const sessions = this.users.get(owner);
    if (sessions?.has(id)) sessions.set(id, Date.now());
  }

  async release(owner: string, id: string) {
    const sessions = this.users.get(owner);
    const removed = sessions?.delete(id) ?? false;
    if (sessions?.size === 0) this.users.delete(owner);
    return removed;
  }

  async count(owner: string, ttlMs?: number) {
    const sessions = this.users.get(owner);
    if (!sessions) return 0;
    if (ttlMs === undefined) return sessions.size;
    const cutoff = Date.now() - ttlMs;
    return [...sessions.values()].filter((usedAt) => usedAt >= cutoff).length;
  }

  async list(owner: string) {
    return [...(this.users.get(owner)?.keys() ?? [])];
  }
}
