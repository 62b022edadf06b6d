import type { RedisClient } from '../redis/connection.js';
import type { KeySchema } from '../redis/keys.js';
import type { PolicySpec } from './policies.js';

/**
 * How limit keys are named, for the gateway and for `mcp-scale limits`.
 *
 * A limit key is `{policy}:{subject}` (`user:alice`, `ip:10.0.0.7`,
 * `tool:search_products:alice`; with --auth none a user is its client IP,
 * so `user:127.0.0.1`). In Redis it lives at `{prefix}rl:{limit key}`
 * (KeySchema.rateLimitPrefix(policy) + ':' + subject, which is exactly how
 * rate-limiter-flexible joins its keyPrefix and key).
 *
 * Gateways also publish each policy's quota in the hash
 * `{prefix}rl:_policies` (field = policy name), so the admin command can
 * say how much of a budget is left without being told the flags.
 */
export function redisKeyPrefix(keys: KeySchema, policy: string): string {
  return keys.rateLimitPrefix(policy);
}

export function redisKeyOf(keys: KeySchema, limitKey: string): string {
  return `${keys.rateLimitPrefix('')}${limitKey}`;
}

export function limitKeyOf(keys: KeySchema, redisKey: string): string {
  return redisKey.slice(keys.rateLimitPrefix('').length);
}

export function policiesHashKey(keys: KeySchema): string {
  return keys.rateLimitPrefix('_policies');
}

export interface PublishedPolicy {
  points: number;
  durationMs: number;
  blockMs: number;
}

/** Writes the policies' quotas for the admin command (on start and on every reconnect). */
export async function publishPolicies(
  redis: RedisClient,
  keys: KeySchema,
  policies: PolicySpec[],
): Promise<void> {
  if (policies.length === 0) return;
  const fields: Record<string, string> = {};
  for (const p of policies) {
    fields[p.name] = JSON.stringify({
      points: p.points,
      durationMs: p.durationMs,
      blockMs: p.blockMs,
    } satisfies PublishedPolicy);
  }
  await redis.hset(policiesHashKey(keys), fields);
}

export async function readPolicies(
  redis: RedisClient,
  keys: KeySchema,
): Promise<Map<string, PublishedPolicy>> {
  const raw = await redis.hgetall(policiesHashKey(keys));
  const found = new Map<string, PublishedPolicy>();
  for (const [name, value] of Object.entries(raw)) {
    try {
      const parsed = JSON.parse(value) as PublishedPolicy;
      if (Number.isFinite(parsed.points) && Number.isFinite(parsed.durationMs)) found.set(name, parsed);
    } catch {
      // written by something else: ignore
    }
  }
  return found;
}

/** The policy a limit key belongs to: the longest published name it starts with, else its first segment. */
export function policyOfKey(limitKey: string, published: Iterable<string>): string {
  let best: string | undefined;
  for (const name of published) {
    if (limitKey.startsWith(`${name}:`) && (best === undefined || name.length > best.length)) best = name;
  }
  if (best) return best;
  const first = limitKey.split(':', 1)[0] ?? limitKey;
  if (first === 'tool') return limitKey.split(':').slice(0, 2).join(':');
  return first;
}
