import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { UserError } from '../errors.js';
import { redactRedisUrl } from './redact.js';

/** The URL with any password replaced, for banners and logs. */
export { redactRedisUrl };

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** Fail a command that gets no answer in this long, so a stalled Redis never hangs a request. */
  commandTimeoutMs?: number;
  /**
   * Queue commands while disconnected (admin tools, startup) or fail them at
   * once (the gateway's hot path, rate limiting: nothing may wait on Redis).
   */
  offlineQueue?: boolean;
  /** Name shown by CLIENT LIST, to tell mcp-scale's connections apart. */
  connectionName?: string;
}

/**
 * The only place that turns a Redis URL into a client. Supports
 * `redis://[:password@]host:port[/db]`, `rediss://` (TLS) and
 * `redis-cluster://host:port,host:port` (Redis Cluster; `rediss-cluster://` for TLS).
 */
export function connectRedis(url: string, options: RedisConnectOptions = {}): RedisClient {
  const commandTimeout = options.commandTimeoutMs ?? 1000;
  const common: RedisOptions = {
    // ioredis applies any number, even 0 (an instant timeout): leave it unset to disable.
    ...(commandTimeout > 0 ? { commandTimeout } : {}),
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: options.offlineQueue ? 3 : 0,
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis coming back must heal
    // everything without a restart.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: false,
  };
  const clusterMatch = /^(rediss?)-cluster:\/\/(.+)$/.exec(url);
  if (clusterMatch) {
    const tls = clusterMatch[1] === 'rediss';
    const rest = clusterMatch[2] ?? '';
    const at = rest.lastIndexOf('@');
    const auth = at >= 0 ? rest.slice(0, at) : '';
    const hosts = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/.*$/, '');
    const [username, password] = auth.includes(':') ? auth.split(':', 2) : [undefined, auth || undefined];
    const nodes = hosts.split(',').map((hostPort) => {
      const [host, port] = hostPort.split(':');
      return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
    });
    return new Cluster(nodes, {
      enableOfflineQueue: common.enableOfflineQueue,
      clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      redisOptions: {
        ...common,
        username: username ? decodeURIComponent(username) : undefined,
        password: password ? decodeURIComponent(password) : undefined,
        tls: tls ? {} : undefined,
      },
    });
  }
  if (!/^rediss?:\/\//.test(url)) {
    throw new UserError(
      `invalid Redis URL '${redactRedisUrl(url)}': use redis://, rediss:// or redis-cluster://`,
    );
  }
  return new Redis(url, common);
}

/** A second connection for SUBSCRIBE (a subscribed connection can run nothing else). */
export function connectSubscriber(url: string, connectionName?: string): RedisClient {
  return connectRedis(url, { offlineQueue: true, commandTimeoutMs: 0, connectionName });
}

/**
 * Resolves when the client is ready; rejects at once on a refused password
 * (retrying cannot fix it), else after the timeout.
 */
export async function waitForRedis(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      if (!/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(error.message)) return;
      cleanup();
      reject(new Error(`authentication failed (${error.message.split('\n')[0]})`));
    };
    function cleanup() {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    }
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

/** Quit politely, falling back to disconnect when Redis is gone. Never throws. */
export async function closeRedis(client: RedisClient | undefined): Promise<void> {
  if (!client) return;
  try {
    if (client.status === 'ready') {
      // quit() may reject after the race is decided: never leave that unhandled.
      const quitting = client.quit().catch(() => {});
      await Promise.race([quitting, new Promise((resolve) => setTimeout(resolve, 500))]);
    }
  } catch {
    // already gone
  }
  client.disconnect();
}
