import { duration, list, mapOf, oneOf } from './codecs.js';
import { setting } from './types.js';

/** The tool-result cache, kept by workers (in Redis, or per worker in memory mode). */
export const CACHE_SETTINGS = [
  setting({
    name: 'cacheTtl',
    codec: mapOf('tool=duration', duration),
    default: {},
    roles: ['worker'],
    help: 'cache a tool result this long, e.g. get_product=5m (repeatable)',
    get: (c) => c.cache.ttlMs,
    set: (c, v) => (c.cache.ttlMs = v),
  }),
  setting({
    name: 'cacheScope',
    codec: mapOf('tool=scope', oneOf(['public', 'user'] as const)),
    default: {},
    roles: ['worker'],
    help: 'public (shared) or user (per signed identity) (repeatable)',
    get: (c) => c.cache.scope,
    set: (c, v) => (c.cache.scope = v),
  }),
  setting({
    name: 'cacheForce',
    codec: list('tools', false),
    default: [],
    roles: ['worker'],
    help: 'cache these tools even without readOnlyHint (comma-separated)',
    get: (c) => c.cache.force,
    set: (c, v) => (c.cache.force = v),
  }),
  setting({
    name: 'cacheTimeout',
    codec: duration,
    default: 50,
    roles: ['worker'],
    help: 'bypass the cache when Redis is slower than this',
    get: (c) => c.cache.timeoutMs,
    set: (c, v) => (c.cache.timeoutMs = v),
  }),
];
