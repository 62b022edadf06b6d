import type { RedisFailurePolicy } from '../config/cluster-config.js';
import type { AdmissionRequest, AdmissionResult, Limiter, Refusal } from '../gateway/admission.js';
import { errorBody, type JsonRpcId, type JsonRpcMessage, replyId, RPC } from '../protocol/jsonrpc.js';
import { closeRedis, connectRedis, waitForRedis, type RedisClient } from '../redis/connection.js';
import { KeySchema } from '../redis/keys.js';
import { ContinuationCheck } from './continuation.js';
import {
  bindingStanding,
  limitedBody,
  rateLimitHeaders,
  retryAfterSeconds,
  type Standing,
} from './headers.js';
import { publishPolicies, redisKeyPrefix } from './limit-keys.js';
import { allPolicies, type PolicySet } from './policies.js';
import { PolicyCounter, StoreHealth, type ConsumeOutcome } from './policy-counter.js';
import { chargesFor, type Charge } from './request-cost.js';

export interface GatewayLimiterOptions {
  policies: PolicySet;
  /** Shared counters in this Redis; undefined = this gateway's memory only. */
  redisUrl?: string;
  prefix: string;
  onRedisFailure: RedisFailurePolicy;
  /** Verifies 2026 continuation legs (see continuation.ts); without it they are counted. */
  clusterSecret?: string;
  /** A stalled Redis fails a consume after this long (default 500 ms); a dead one fails at once. */
  commandTimeoutMs?: number;
}

const UNAVAILABLE_DETAIL: Record<RedisFailurePolicy, string> = {
  open: 'Redis unreachable: admitting every request until it returns (--limits-on-redis-failure open)',
  local: 'Redis unreachable: each gateway enforces the limits in its own memory until it returns (local)',
  closed: 'Redis unreachable: counted requests get 503 until it returns (--limits-on-redis-failure closed)',
};

/**
 * The gateway's rate limiter (the router's `Limiter` seam): charges each
 * POST's JSON-RPC requests to every policy that applies, all in parallel
 * (one Redis round trip), and refuses the whole POST with 429 when any
 * policy has too few points left. A refused request costs nothing: points
 * other policies granted it are given back, and so are points of a request
 * too big for what was left (unless --block is on, which keeps the key blocked).
 */
export class GatewayLimiter implements Limiter {
  private readonly counters = new Map<string, PolicyCounter>();
  private readonly continuations: ContinuationCheck;
  private readonly health = new StoreHealth();

  private constructor(
    private readonly options: GatewayLimiterOptions,
    private readonly redis: RedisClient | undefined,
  ) {
    const keys = new KeySchema(options.prefix);
    for (const policy of allPolicies(options.policies)) {
      this.counters.set(
        policy.name,
        new PolicyCounter(
          policy,
          redisKeyPrefix(keys, policy.name),
          redis,
          options.onRedisFailure,
          this.health,
        ),
      );
    }
    this.continuations = new ContinuationCheck(options.clusterSecret);
    if (redis) {
      const publish = () => void publishPolicies(redis, keys, allPolicies(options.policies)).catch(() => {});
      redis.on('ready', () => {
        this.health.healthy = true; // a fresh connection: judge it by what happens next
        publish();
      });
      if (redis.status === 'ready') publish();
    }
  }

  /**
   * Connects and waits (up to `readyTimeoutMs`, default 5 s) for Redis, so
   * the first requests are counted where every gateway counts them. A Redis
   * that is not there yet is not fatal: the failure policy answers until it is.
   */
  static async create(options: GatewayLimiterOptions & { readyTimeoutMs?: number }): Promise<GatewayLimiter> {
    // A connection of its own that never queues: while Redis is away a
    // consume fails at once and the failure policy answers.
    const redis = options.redisUrl
      ? connectRedis(options.redisUrl, {
          offlineQueue: false,
          commandTimeoutMs: options.commandTimeoutMs ?? 500,
          connectionName: 'mcp-scale-limits',
        })
      : undefined;
    redis?.on('error', () => {});
    if (redis) await waitForRedis(redis, options.readyTimeoutMs ?? 5000).catch(() => {});
    return new GatewayLimiter(options, redis);
  }

  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const classified = request.classified;
    if (!classified || (classified.requests.length === 0 && classified.chargedNotifications.length === 0))
      return { ok: true, headers: {} };
    const verdict = await this.continuations.check(classified, request.user);
    if (verdict.invalid) return invalidStateRefusal(verdict.invalid);
    const charges = chargesFor(request, this.options.policies, (message) =>
      verdict.continuations.has(message),
    );
    return this.apply(charges, classified.requestIds, classified.batch);
  }

  /**
   * A request whose credentials failed: charged to the client IP's
   * --ip-rate-limit budget. Returns a 429 once that budget is spent (the
   * caller answers 401 otherwise).
   */
  async chargeFailedAuth(clientIp: string): Promise<Refusal | undefined> {
    const policy = this.options.policies.ip;
    if (!policy) return undefined;
    const result = await this.apply([{ policy, subject: clientIp, points: 1 }], [null], false);
    return result.ok ? undefined : result;
  }

  status(): { degraded: boolean; detail: string } {
    if (!this.redis) return { degraded: false, detail: "limits kept in this gateway's memory (no Redis)" };
    if (this.redis.status !== 'ready') {
      return { degraded: true, detail: UNAVAILABLE_DETAIL[this.options.onRedisFailure] };
    }
    if (!this.health.healthy) {
      return {
        degraded: true,
        detail: UNAVAILABLE_DETAIL[this.options.onRedisFailure].replace(
          'unreachable',
          'not answering in time',
        ),
      };
    }
    return { degraded: false, detail: 'limits shared through Redis' };
  }

  policyNames(): string[] {
    return [...this.counters.keys()];
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  private async apply(charges: Charge[], ids: JsonRpcId[], batch: boolean): Promise<AdmissionResult> {
    if (charges.length === 0) return { ok: true, headers: {} };
    const outcomes = await Promise.all(
      charges.map((charge) => this.counter(charge).consume(charge.subject, charge.points)),
    );
    if (outcomes.some((o) => o.kind === 'unavailable') && this.options.onRedisFailure === 'closed') {
      // The points other policies granted go back: the request does not run.
      await Promise.all(
        charges.map((charge, i) => {
          const outcome = outcomes[i] as ConsumeOutcome;
          return outcome.kind === 'allowed' ? this.refund(charge, outcome) : false;
        }),
      );
      return unavailableRefusal(ids, batch);
    }
    // With `open`, a policy whose store failed simply does not limit (nor report).
    const counted = charges.flatMap((charge, i) => {
      const outcome = outcomes[i] as ConsumeOutcome;
      return outcome.kind === 'unavailable' ? [] : [{ charge, outcome }];
    });
    const standings = counted.map(({ charge, outcome }) => ({
      policy: charge.policy,
      remaining: outcome.remaining,
      resetMs: outcome.resetMs,
    }));
    const refused = counted.filter(({ outcome }) => outcome.kind === 'refused');
    if (refused.length === 0) {
      const binding = bindingStanding(standings);
      return { ok: true, headers: binding ? rateLimitHeaders(standings, binding) : {} };
    }
    // Refused: points the other policies granted go back, and so do the
    // points of a request too big for what was left (unless --block holds the key).
    const refunded = await Promise.all(
      counted.map(({ charge, outcome }) => {
        const giveBack =
          outcome.kind === 'allowed' ||
          (charge.policy.blockMs === 0 && outcome.consumed - charge.points < charge.policy.points);
        return giveBack ? this.refund(charge, outcome) : false;
      }),
    );
    counted.forEach(({ charge, outcome }, i) => {
      const standing = standings[i] as Standing;
      standing.remaining = refunded[i]
        ? Math.max(0, charge.policy.points - (outcome.consumed - charge.points))
        : outcome.remaining;
    });
    // Report the refusing policy that keeps refusing longest.
    const refusedBy = standings
      .filter((_s, i) => counted[i]?.outcome.kind === 'refused')
      .reduce((a, b) => (b.resetMs > a.resetMs ? b : a));
    return {
      ok: false,
      status: 429,
      headers: {
        'content-type': 'application/json',
        'retry-after': String(retryAfterSeconds(refusedBy.resetMs)),
        ...rateLimitHeaders(standings, refusedBy),
      },
      body: limitedBody(ids, batch, refusedBy),
      policy: refusedBy.policy.name,
    };
  }

  /** Gives a charge's points back; true when it was attempted. */
  private async refund(charge: Charge, outcome: ConsumeOutcome): Promise<boolean> {
    if (outcome.kind === 'unavailable') return false;
    return this.counter(charge).refund(charge.subject, charge.points, outcome.resetMs);
  }

  private counter(charge: Charge): PolicyCounter {
    return this.counters.get(charge.policy.name) as PolicyCounter;
  }
}

/** The SDK's own answer to a state that fails verification: -32602, here with HTTP 400. */
function invalidStateRefusal(message: JsonRpcMessage): Refusal {
  return {
    ok: false,
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: errorBody(
      replyId(message),
      RPC.invalidParams,
      'Invalid params: requestState does not verify for this request (expired, or minted for another user, method, tool or arguments)',
    ),
  };
}

function unavailableRefusal(ids: JsonRpcId[], batch: boolean): Refusal {
  const message = 'Rate limits cannot be checked right now (Redis unreachable); try again shortly';
  const bodies = (ids.length > 0 ? ids : [null]).map((id) => errorBody(id, RPC.unavailable, message));
  return {
    ok: false,
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '1' },
    body: batch ? `[${bodies.join(',')}]` : (bodies[0] as string),
  };
}
