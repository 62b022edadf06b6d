import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { RedisFailurePolicy } from '../config/cluster-config.js';
import type { RedisClient } from '../redis/connection.js';
import type { PolicySpec } from './policies.js';

export type ConsumeOutcome =
  | { kind: 'allowed'; consumed: number; remaining: number; resetMs: number }
  | { kind: 'refused'; consumed: number; remaining: number; resetMs: number }
  /** The store failed and no insurance answered (--limits-on-redis-failure open|closed). */
  | { kind: 'unavailable'; error: Error };

/** Refunds this close to a window's end are skipped: the key may be gone before they land. */
const REFUND_GUARD_MS = 250;

/**
 * Whether the shared store answered the last consume, for the gateway's
 * status: a stalled Redis still looks `ready` to ioredis, so failures (and
 * uses of the insurance limiter) are what tell.
 */
export class StoreHealth {
  failures = 0;
  healthy = true;

  failed(): void {
    this.failures++;
    this.healthy = false;
  }
}

/** The `local` insurance limiter: a RateLimiterMemory that reports each time it has to answer. */
class InsuranceMemory extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly health: StoreHealth,
  ) {
    super(options);
  }

  override consume(
    ...args: Parameters<RateLimiterMemory['consume']>
  ): ReturnType<RateLimiterMemory['consume']> {
    this.health.failed();
    return super.consume(...args);
  }
}

/**
 * One policy's counters: RateLimiterRedis (a fixed window that starts at a
 * key's first hit, one EVALSHA per consume) shared by every gateway, or
 * RateLimiterMemory in single-node memory mode. With the `local` failure
 * policy a per-gateway RateLimiterMemory is the `insuranceLimiter`: it
 * answers while Redis is away, and Redis takes over again once it is back.
 */
export class PolicyCounter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly policy: PolicySpec,
    keyPrefix: string,
    redis: RedisClient | undefined,
    onRedisFailure: RedisFailurePolicy,
    private readonly health: StoreHealth = new StoreHealth(),
  ) {
    const common = {
      keyPrefix,
      points: policy.points,
      duration: policy.durationMs / 1000,
      blockDuration: policy.blockMs / 1000,
    };
    this.limiter = redis
      ? new RateLimiterRedis({
          ...common,
          storeClient: redis,
          // Fail (or fall back) at once when not connected: nothing waits on Redis.
          rejectIfRedisNotReady: true,
          insuranceLimiter: onRedisFailure === 'local' ? new InsuranceMemory(common, health) : undefined,
        })
      : new RateLimiterMemory(common);
  }

  async consume(subject: string, points: number): Promise<ConsumeOutcome> {
    const failuresBefore = this.health.failures;
    try {
      const res = await this.limiter.consume(subject, points);
      return { kind: 'allowed', ...this.standing(res) };
    } catch (error) {
      if (error instanceof RateLimiterRes) return { kind: 'refused', ...this.standing(error) };
      this.health.failed();
      return { kind: 'unavailable', error: error instanceof Error ? error : new Error(String(error)) };
    } finally {
      // Answered by the store itself (no failure meanwhile): it is healthy again.
      if (this.health.failures === failuresBefore) this.health.healthy = true;
    }
  }

  /**
   * Gives points back (a request refused by another policy, or one too big
   * for what was left). Best effort: never throws; false when skipped or failed.
   */
  async refund(subject: string, points: number, resetMs: number): Promise<boolean> {
    if (points <= 0 || resetMs <= REFUND_GUARD_MS) return false;
    try {
      await this.limiter.reward(subject, points);
      return true;
    } catch {
      // the store went away: the points come back when the window ends
      return false;
    }
  }

  private standing(res: RateLimiterRes) {
    return {
      consumed: res.consumedPoints,
      remaining: Math.max(0, this.policy.points - res.consumedPoints),
      resetMs: Math.max(0, res.msBeforeNext),
    };
  }
}
