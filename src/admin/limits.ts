import { UserError } from '../errors.js';
import {
  limitKeyOf,
  policyOfKey,
  readPolicies,
  redisKeyOf,
  type PublishedPolicy,
} from '../limits/limit-keys.js';
import { scanKeys } from '../redis/scan.js';
import type { AdminConnection } from './admin-redis.js';

/** One subject's standing in one policy, as `mcp-scale limits show` prints it. */
export interface LimitSummary {
  /** The limit key: `user:alice`, `ip:10.0.0.7`, `tool:search_products:alice`. */
  key: string;
  policy: string;
  /** The policy's quota as the gateways published it; null if no gateway did (yet). */
  limit: { points: number; windowMs: number; blockMs: number } | null;
  /** Points spent in the current window by admitted requests (at most the quota). */
  used: number;
  /** The raw counter: refused attempts past the quota are counted too, so it may exceed it. */
  counted: number;
  remaining: number | null;
  /** Milliseconds until the window (or the --block) ends; null when nothing is counted. */
  resetsInMs: number | null;
  resetsAt: string | null;
  /** No points left: the next counted request is refused until resetsAt. */
  blocked: boolean;
}

const KEY_SHAPE = /^(user|ip):.+$|^tool:[^:]+:.+$/;

/** Accepts a limit key, or the full Redis key copied from redis-cli. */
export function normalizeLimitKey(admin: AdminConnection, input: string): string {
  const key = input.startsWith(redisKeyOf(admin.keys, '')) ? limitKeyOf(admin.keys, input) : input;
  if (!KEY_SHAPE.test(key) || key.startsWith('_policies')) {
    throw new UserError(
      `'${input}' is not a limit key: use user:<user>, ip:<address> or tool:<tool>:<user> (e.g. user:alice)`,
    );
  }
  return key;
}

export async function showLimit(admin: AdminConnection, input: string): Promise<LimitSummary> {
  const key = normalizeLimitKey(admin, input);
  const published = await readPolicies(admin.redis, admin.keys);
  return summarize(admin, key, published);
}

/** Every counted key (SCAN, never KEYS), optionally of one policy; busiest first. */
export async function listLimits(
  admin: AdminConnection,
  filter: { policy?: string; limit?: number } = {},
): Promise<LimitSummary[]> {
  const published = await readPolicies(admin.redis, admin.keys);
  const pattern = redisKeyOf(admin.keys, filter.policy ? `${filter.policy}:*` : '*');
  const found: LimitSummary[] = [];
  for await (const redisKey of scanKeys(admin.redis, pattern)) {
    const key = limitKeyOf(admin.keys, redisKey);
    if (!KEY_SHAPE.test(key)) continue;
    found.push(await summarize(admin, key, published));
    if (filter.limit !== undefined && found.length >= filter.limit) break;
  }
  return found.sort((a, b) => b.counted - a.counted || a.key.localeCompare(b.key));
}

/**
 * Clears a key's counter in Redis: its next request starts a fresh window.
 * (A gateway running on its in-memory insurance limiter while Redis was
 * away keeps its own count until Redis is back.)
 */
export async function resetLimit(
  admin: AdminConnection,
  input: string,
): Promise<{ key: string; removed: boolean; before: LimitSummary }> {
  const before = await showLimit(admin, input);
  const removed = (await admin.redis.unlink(redisKeyOf(admin.keys, before.key))) > 0;
  return { key: before.key, removed, before };
}

async function summarize(
  admin: AdminConnection,
  key: string,
  published: Map<string, PublishedPolicy>,
): Promise<LimitSummary> {
  const redisKey = redisKeyOf(admin.keys, key);
  const [raw, pttl] = await Promise.all([admin.redis.get(redisKey), admin.redis.pttl(redisKey)]);
  const policy = policyOfKey(key, published.keys());
  const quota = published.get(policy);
  const counted = raw === null ? 0 : Math.max(0, Number.parseInt(raw, 10) || 0);
  const used = quota ? Math.min(counted, quota.points) : counted;
  const resetsInMs = raw === null || pttl < 0 ? null : pttl;
  const remaining = quota ? Math.max(0, quota.points - counted) : null;
  return {
    key,
    policy,
    limit: quota ? { points: quota.points, windowMs: quota.durationMs, blockMs: quota.blockMs } : null,
    used,
    counted,
    remaining,
    resetsInMs,
    resetsAt: resetsInMs === null ? null : new Date(Date.now() + resetsInMs).toISOString(),
    blocked: remaining === 0,
  };
}
