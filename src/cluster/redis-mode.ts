import type { ClusterConfig } from '../config/cluster-config.js';
import { OperationalError } from '../errors.js';
import { closeRedis, connectRedis, redactRedisUrl, waitForRedis } from '../redis/connection.js';
import { findRedisServer, startLocalRedis, type LocalRedis } from '../redis/local-server.js';

/**
 * How `serve` got its Redis:
 *  - `url`: named with --redis (or the config file);
 *  - `env`: REDIS_URL;
 *  - `private`: a redis-server serve started itself on a free port (and stops);
 *  - `memory`: no Redis at all, single-node in-memory mode.
 * It never silently shares a Redis the user did not name.
 */
export type RedisMode = 'url' | 'env' | 'private' | 'memory';

export interface ServeRedis {
  mode: RedisMode;
  url?: string;
  local?: LocalRedis;
  /** What the banner says about it. */
  description: string;
}

export async function resolveServeRedis(config: ClusterConfig, env = process.env): Promise<ServeRedis> {
  if (config.redis === 'memory') return memory('--redis memory');
  if (config.redis !== 'auto') return checked('url', config.redis);
  if (env.REDIS_URL) return checked('env', env.REDIS_URL);
  if (findRedisServer()) {
    // Its own password: any local user could otherwise read and write
    // sessions, limits and cached results (another user's, too).
    const local = await startLocalRedis({ password: true });
    return {
      mode: 'private',
      url: local.url,
      local,
      description: `private redis-server on ${redactRedisUrl(local.url)} (pid ${local.pid}, password-protected, stopped with serve)`,
    };
  }
  return memory('no REDIS_URL and no redis-server on PATH');
}

function memory(why: string): ServeRedis {
  return {
    mode: 'memory',
    description: `single-node in-memory mode (${why}): sessions and limits live in the gateway, caches per worker; nothing is shared beyond this machine`,
  };
}

async function checked(mode: 'url' | 'env', url: string): Promise<ServeRedis> {
  const client = connectRedis(url, { offlineQueue: true, connectionName: 'mcp-scale-serve-check' });
  client.on('error', () => {});
  try {
    await waitForRedis(client, 5000);
    await client.ping();
  } catch (error) {
    throw new OperationalError(
      `cannot reach Redis at ${redactRedisUrl(url)}${mode === 'env' ? ' (from REDIS_URL)' : ''}: ${(error as Error).message}`,
      'REDIS_UNREACHABLE',
    );
  } finally {
    await closeRedis(client);
  }
  return { mode, url, description: `${redactRedisUrl(url)}${mode === 'env' ? ' (REDIS_URL)' : ''}` };
}
