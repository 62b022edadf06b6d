import type { ClusterConfig } from '../config/cluster-config.js';
import { OperationalError } from '../errors.js';
import { closeRedis, connectRedis, redactRedisUrl, waitForRedis } from '../redis/connection.js';
import { startLocalRedisHa, type LocalRedisHa } from '../redis/local-ha.js';
import { findRedisServer, startLocalRedis, type LocalRedis } from '../redis/local-server.js';

/**
 * How `serve` got its Redis:
 *  - `url`: named with --redis (or the config file);
 *  - `env`: REDIS_URL;
 *  - `private`: a redis-server serve started itself on a free port (and stops);
 *  - `ha`: `--redis ha`, a private primary, replica and three sentinels (and stops them);
 *  - `memory`: no Redis at all, single-node in-memory mode.
 * It never silently shares a Redis the user did not name.
 */
export type RedisMode = 'url' | 'env' | 'private' | 'ha' | 'memory';

export interface ServeRedis {
  mode: RedisMode;
  url?: string;
  local?: LocalRedis;
  ha?: LocalRedisHa;
  /** Every process serve started for Redis (reaped by the next run if serve was SIGKILLed). */
  pids: number[];
  /** A folder serve created for them (sentinel config files), removed with them. */
  dir?: string;
  close(): Promise<void>;
  /** What the banner says about it. */
  description: string;
}

export async function resolveServeRedis(config: ClusterConfig, env = process.env): Promise<ServeRedis> {
  if (config.redis === 'memory') return memory('--redis memory');
  if (config.redis === 'ha') {
    if (!findRedisServer())
      throw new OperationalError(
        '--redis ha needs redis-server on PATH (it also runs the sentinels)',
        'REDIS_MISSING',
      );
    const ha = await startLocalRedisHa();
    const redacted = redactRedisUrl(ha.url);
    return {
      mode: 'ha',
      url: ha.url,
      ha,
      pids: ha.pids(),
      dir: ha.dir,
      close: () => ha.close(),
      description: [
        `private Sentinel-managed Redis ${redacted} (stopped with serve)`,
        `                primary pid ${ha.primary.pid} port ${ha.primary.port}, replica pid ${ha.replica.pid} port ${ha.replica.port}`,
        `                sentinels ${ha.sentinels.map((s) => `pid ${s.pid} port ${s.port}`).join(', ')}`,
      ].join('\n'),
    };
  }
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
      pids: [local.pid],
      close: () => local.close(),
      description: `private redis-server on ${redactRedisUrl(local.url)} (pid ${local.pid}, password-protected, stopped with serve)`,
    };
  }
  return memory('no REDIS_URL and no redis-server on PATH');
}

function memory(why: string): ServeRedis {
  return {
    mode: 'memory',
    pids: [],
    close: async () => {},
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
  return {
    mode,
    url,
    pids: [],
    close: async () => {},
    description: `${redactRedisUrl(url)}${mode === 'env' ? ' (REDIS_URL)' : ''}`,
  };
}
