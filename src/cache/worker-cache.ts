import type { CacheConfig } from '../config/cluster-config.js';
import type { RedisClient } from '../redis/connection.js';
import type { KeySchema } from '../redis/keys.js';
import type { LoadedServer } from '../worker/server-loader.js';
import type { ClusterBusLike, ServerFactoryContext } from '../worker/server-module.js';
import { anyToolCacheable, resolveCacheSettings } from './cache-policy.js';
import { MemoryCacheStore, RedisCacheStore } from './cache-store.js';
import { ToolResultCache } from './tool-result-cache.js';
import { withToolCache } from './transport-tap.js';

export interface WorkerCacheOptions {
  config?: CacheConfig;
  /** The worker hosts the built-in demo shop (its default TTLs apply). */
  demo: boolean;
  /** Shared entries in Redis; undefined = this worker's memory. */
  redis?: RedisClient;
  keys: KeySchema;
  bus: ClusterBusLike;
}

/** The worker's tool-result cache, or undefined when no tool has a TTL (nothing to wrap). */
export function createWorkerCache(options: WorkerCacheOptions): ToolResultCache | undefined {
  const settings = resolveCacheSettings(options.config, options.demo);
  if (!anyToolCacheable(settings)) return undefined;
  return new ToolResultCache({
    settings,
    store: options.redis ? new RedisCacheStore(options.redis) : new MemoryCacheStore(),
    keys: options.keys,
    bus: options.bus,
  });
}

/**
 * Learns the server's tool annotations from a probe instance, then returns
 * the server with every instance's transport tapped by the cache.
 */
export async function attachWorkerCache(
  cache: ToolResultCache,
  loaded: LoadedServer,
  probeContext: ServerFactoryContext,
): Promise<LoadedServer> {
  await cache.annotations.probe(await loaded.create(probeContext));
  return withToolCache(loaded, cache);
}
