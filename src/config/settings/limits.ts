import { duration, integer, mapOf, oneOf, rate } from './codecs.js';
import { setting } from './types.js';

/**
 * Rate limits, enforced by gateways, or by workers a balancer reaches
 * directly (counted in Redis, shared by every gateway and worker).
 */
export const LIMIT_SETTINGS = [
  setting({
    name: 'rateLimit',
    codec: rate,
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'per-user budget, e.g. 60/1m (per client IP with --auth none)',
    get: (c) => c.limits.rateLimit,
    set: (c, v) => (c.limits.rateLimit = v),
  }),
  setting({
    name: 'block',
    codec: duration,
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'block a key this long once its limit is hit',
    get: (c) => c.limits.blockMs,
    set: (c, v) => (c.limits.blockMs = v),
  }),
  setting({
    name: 'ipRateLimit',
    codec: rate,
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'per-IP budget for unauthenticated (or failed) requests, e.g. 100/1m',
    get: (c) => c.limits.ipRateLimit,
    set: (c, v) => (c.limits.ipRateLimit = v),
  }),
  setting({
    name: 'toolLimit',
    codec: mapOf('tool=rate', rate),
    default: {},
    roles: ['gateway', 'direct'],
    help: 'per-tool, per-user budget, e.g. search_products=10/1m (repeatable)',
    get: (c) => c.limits.toolLimits,
    set: (c, v) => (c.limits.toolLimits = v),
  }),
  setting({
    name: 'toolCost',
    codec: mapOf('tool=points', integer('points', 1, 1_000_000)),
    default: {},
    roles: ['gateway', 'direct'],
    help: 'points one call of the tool costs, e.g. generate_report=5 (repeatable)',
    get: (c) => c.limits.toolCosts,
    set: (c, v) => (c.limits.toolCosts = v),
  }),
  setting({
    name: 'limitsOnRedisFailure',
    codec: oneOf(['open', 'local', 'closed'] as const),
    default: 'local',
    roles: ['gateway', 'direct'],
    help: 'when Redis is away: open, local or closed',
    get: (c) => c.limits.onRedisFailure,
    set: (c, v) => (c.limits.onRedisFailure = v),
  }),
];
