import { findRunningCluster } from '../cluster/state-file.js';
import { DEFAULT_PREFIX, KeySchema } from '../redis/keys.js';
import {
  closeRedis,
  connectRedis,
  redactRedisUrl,
  waitForRedis,
  type RedisClient,
} from '../redis/connection.js';
import { OperationalError, UserError } from '../errors.js';

export interface AdminTarget {
  url: string;
  prefix: string;
  /** Where the URL came from, for messages. */
  source: '--redis' | 'REDIS_URL' | 'running cluster';
}

/**
 * Which Redis an admin command (`sessions`, `cache`, `limits`) talks to:
 * `--redis URL`, else REDIS_URL, else the Redis of the running `serve`
 * (from its state file, so even a private redis-server is reachable).
 */
export function resolveAdminTarget(
  flags: { redis?: string; prefix?: string },
  env = process.env,
): AdminTarget {
  if (flags.redis) return { url: flags.redis, prefix: flags.prefix ?? DEFAULT_PREFIX, source: '--redis' };
  if (env.REDIS_URL)
    return { url: env.REDIS_URL, prefix: flags.prefix ?? DEFAULT_PREFIX, source: 'REDIS_URL' };
  const cluster = findRunningCluster(env);
  if (cluster?.redis.url)
    return { url: cluster.redis.url, prefix: flags.prefix ?? cluster.prefix, source: 'running cluster' };
  if (cluster) throw new UserError('the running cluster uses in-memory mode: there is no Redis to inspect');
  throw new UserError('no Redis to talk to: pass --redis URL, set REDIS_URL, or start `mcp-scale serve`');
}

export interface AdminConnection {
  redis: RedisClient;
  keys: KeySchema;
  target: AdminTarget;
  close(): Promise<void>;
}

export async function connectAdmin(target: AdminTarget): Promise<AdminConnection> {
  const redis = connectRedis(target.url, {
    offlineQueue: true,
    commandTimeoutMs: 5000,
    connectionName: 'mcp-scale-admin',
  });
  redis.on('error', () => {});
  try {
    await waitForRedis(redis, 5000);
  } catch {
    await closeRedis(redis);
    throw new OperationalError(
      `cannot reach Redis at ${redactRedisUrl(target.url)} (from ${target.source})`,
      'REDIS_UNREACHABLE',
    );
  }
  return { redis, keys: new KeySchema(target.prefix), target, close: () => closeRedis(redis) };
}
