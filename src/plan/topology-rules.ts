import { formatRate, type RateSpec } from '../config/rate.js';
import { fmt } from './measured.js';
import type { Autoscaling, Band, LoadBalancer, Platform, ReasonLine, RedisForm } from './types.js';

/**
 * Everything in a plan that follows from the worker count and the user
 * band: gateways, load balancer, Redis form, platform, limits, cache and
 * autoscaling. Each rule returns its value and the line that explains it.
 */

export interface Decision<T> {
  value: T;
  reason: ReasonLine;
}

/** A gateway only proxies, so one serves several workers; two keep the entry point up through a restart. */
export const WORKERS_PER_GATEWAY = 4;

export function decideGateways(workers: number): Decision<number> {
  if (workers <= 3) {
    return {
      value: 1,
      reason: {
        source: 'assumption',
        text: `gateways = 1: up to 3 workers, the one gateway that serve runs in front of them is the whole entry tier.`,
      },
    };
  }
  const gateways = Math.max(2, Math.ceil(workers / WORKERS_PER_GATEWAY));
  return {
    value: gateways,
    reason: {
      source: 'assumption',
      text:
        `gateways = max(2, ceil(${workers} workers / ${WORKERS_PER_GATEWAY})) = ${gateways}: ` +
        `gateways only proxy, so one serves several workers, and two keep the entry point up through a restart.`,
    },
  };
}

export function decideLoadBalancer(gateways: number, platform: Platform): Decision<LoadBalancer> {
  if (platform === 'kubernetes') {
    return {
      value: 'kubernetes-service',
      reason: {
        source: 'derived',
        text:
          `load balancer: the gateways' Kubernetes Service (behind your ingress) spreads requests over the ` +
          `${gateways} gateways; they share sessions through Redis, so it needs no stickiness.`,
      },
    };
  }
  if (gateways === 1) {
    return {
      value: 'none',
      reason: { source: 'derived', text: 'load balancer: none; clients talk to the single gateway.' },
    };
  }
  return {
    value: 'nginx',
    reason: {
      source: 'derived',
      text:
        `load balancer: nginx in front of the ${gateways} gateways, round robin (haproxy works as well: --lb haproxy). ` +
        `Gateways share sessions through Redis, so the balancer needs no stickiness.`,
    },
  };
}

/** Assumed Redis commands per MCP call: one rate-limit consume, one cache lookup, a lazy session refresh. */
export const REDIS_OPS_PER_CALL = 3;
/** A conservative budget for one Redis node (simple commands run at ~100k/s on one core). */
export const SINGLE_REDIS_OPS_BUDGET = 50_000;

export function decideRedis(
  band: Band,
  workers: number,
  gateways: number,
  demand: number,
): Decision<RedisForm>[] {
  if (workers === 1 && gateways === 1) {
    return [
      {
        value: 'none',
        reason: {
          source: 'derived',
          text: 'Redis: none (serve --redis memory); one gateway and one worker keep limits and sessions in process.',
        },
      },
    ];
  }
  const byBand: Record<Band['id'], { form: RedisForm; why: string }> = {
    single: { form: 'single', why: 'more than one worker share rate limits and the session map through it' },
    small: {
      form: 'single',
      why: 'one redis-server holds the shared rate limits and the session map; losing it costs sessions, not data',
    },
    medium: {
      form: 'replicated',
      why: 'it is the session store for every client now, so run a primary with a replica (or a managed Redis with failover)',
    },
    large: {
      form: 'cluster',
      why: 'Redis Cluster spreads sessions, limits and cache over shards, so no single node caps the cluster',
    },
  };
  const { form, why } = byBand[band.id];
  const decisions: Decision<RedisForm>[] = [
    { value: form, reason: { source: 'rule of thumb', text: `Redis: ${form}; ${why}.` } },
  ];
  const opsPerSecond = demand * REDIS_OPS_PER_CALL;
  if (opsPerSecond > SINGLE_REDIS_OPS_BUDGET && form !== 'cluster') {
    decisions.push({
      value: 'cluster',
      reason: {
        source: 'assumption',
        text:
          `Redis: cluster after all; ${fmt(demand)} calls/s x ${REDIS_OPS_PER_CALL} Redis commands per call = ` +
          `${fmt(opsPerSecond)} ops/s exceeds the ${SINGLE_REDIS_OPS_BUDGET} ops/s planned for one Redis node.`,
      },
    });
  }
  return decisions;
}

export function decidePlatform(band: Band, workers: number): Decision<Platform> {
  if (band.id === 'large' || workers > 10) {
    return {
      value: 'kubernetes',
      reason: {
        source: 'rule of thumb',
        text: `platform: Kubernetes; above 10 workers or 1000 users, let a Horizontal Pod Autoscaler follow the load.`,
      },
    };
  }
  if (workers === 1) {
    return {
      value: 'processes',
      reason: { source: 'derived', text: 'platform: one machine (mcp-scale serve, or one container).' },
    };
  }
  return {
    value: 'compose',
    reason: {
      source: 'derived',
      text: 'platform: one or a few machines (mcp-scale serve, or Docker Compose).',
    },
  };
}

/** Per-user limit = 3x the stated per-user rate: room for bursts, a stop for runaway agents. */
export const USER_LIMIT_FACTOR = 3;
/** Per-IP limit = 10 user budgets: several users may share an address behind NAT. */
export const IP_LIMIT_USERS = 10;

export function decideLimits(
  callsPerUser: RateSpec,
  band: Band,
  gateways: number,
): { rateLimit: string; ipRateLimit?: string; reasons: ReasonLine[] } {
  const perUser: RateSpec = {
    points: Math.ceil(callsPerUser.points * USER_LIMIT_FACTOR),
    durationMs: callsPerUser.durationMs,
  };
  const rateLimit = formatRate(perUser);
  const reasons: ReasonLine[] = [
    {
      source: 'assumption',
      text:
        `rate limit: ${rateLimit} per user = ${USER_LIMIT_FACTOR} x ${formatRate(callsPerUser)}, room for bursts ` +
        `while stopping a runaway agent (with --auth none a "user" is a client IP).`,
    },
  ];
  const dedicatedLayer = band.id === 'medium' || band.id === 'large' || gateways > 1;
  if (!dedicatedLayer) return { rateLimit, reasons };
  const perIp: RateSpec = { points: perUser.points * IP_LIMIT_USERS, durationMs: perUser.durationMs };
  const ipRateLimit = formatRate(perIp);
  reasons.push({
    source: 'assumption',
    text:
      `limiting layer: the gateways enforce limits for every worker from Redis, plus ${ipRateLimit} per IP ` +
      `(${IP_LIMIT_USERS} user budgets, as users can share an address behind NAT) to stop floods before auth.`,
  });
  return { rateLimit, ipRateLimit, reasons };
}

export const CACHE_TTLS: { kind: string; ttl: string }[] = [
  { kind: 'lookups by id (products, users, documents)', ttl: '5m' },
  { kind: 'searches and listings', ttl: '1m' },
  { kind: 'fast-changing values (stock, prices, status)', ttl: '10s' },
];

export function decideCache(band: Band): Decision<boolean> {
  const recommended = band.id === 'medium' || band.id === 'large';
  return {
    value: recommended,
    reason: recommended
      ? {
          source: 'rule of thumb',
          text:
            'tool cache: on for read-only tools, ' +
            CACHE_TTLS.map((entry) => `${entry.ttl} for ${entry.kind}`).join(', ') +
            '. The flag names tools (--cache-ttl TOOL=5m), which the plan does not know, so it is not in the commands.',
        }
      : {
          source: 'rule of thumb',
          text: 'tool cache: optional at this size; add --cache-ttl TOOL=TTL for slow read-only tools.',
        },
  };
}

/** The CPU target matches the utilisation the plan sizes workers for. */
export const HPA_CPU_TARGET_PERCENT = 70;
/** maxReplicas = 2 x minReplicas: bursts and a lost node fit without a manual change. */
export const HPA_MAX_FACTOR = 2;

export function decideAutoscaling(workers: number): Decision<Autoscaling> {
  const value: Autoscaling = {
    minReplicas: workers,
    maxReplicas: workers * HPA_MAX_FACTOR,
    cpuTargetPercent: HPA_CPU_TARGET_PERCENT,
  };
  return {
    value,
    reason: {
      source: 'assumption',
      text:
        `autoscaling: HPA min ${value.minReplicas} (the planned load is served without waiting for a scale-up), ` +
        `max ${value.maxReplicas} (${HPA_MAX_FACTOR}x for bursts), CPU target ${value.cpuTargetPercent}%.`,
    },
  };
}
