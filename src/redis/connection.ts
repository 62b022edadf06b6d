import {
  Redis,
  Cluster,
  SentinelConnector,
  type RedisOptions,
  type SentinelConnectionOptions,
} from 'ioredis';
import { parseRedisUrl } from './redis-url.js';

export { parseRedisUrl, type RedisTarget } from './redis-url.js';
/** The URL with any password replaced, for banners and logs. */
export { redactRedisUrl } from './redact.js';

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
 * The only place that turns a Redis URL into a client (the URL forms are in
 * redis-url.ts): one Redis, a Redis Cluster, or a Sentinel-managed primary.
 * Failover is ioredis's: it asks the sentinels for the current primary on
 * every (re)connect and listens for +switch-master (failoverDetector).
 */
export function connectRedis(url: string, options: RedisConnectOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  const commandTimeout = options.commandTimeoutMs ?? 1000;
  const common: RedisOptions = {
    // ioredis applies any number, even 0 (an instant timeout): leave it unset to disable.
    ...(commandTimeout > 0 ? { commandTimeout } : {}),
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: options.offlineQueue ? 3 : 0,
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis coming back must heal
    // everything without a restart.
    retryStrategy: (times) => backoff(times),
    lazyConnect: false,
  };
  if (target.kind === 'cluster') {
    return new Cluster(target.nodes, {
      enableOfflineQueue: common.enableOfflineQueue,
      clusterRetryStrategy: (times) => backoff(times),
      redisOptions: {
        ...common,
        username: target.username,
        password: target.password,
        tls: target.tls ? {} : undefined,
      },
    });
  }
  if (target.kind === 'sentinel') {
    const client = new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.masterName,
      db: target.db,
      username: target.username,
      password: target.password,
      sentinelUsername: target.sentinelUsername,
      sentinelPassword: target.sentinelPassword,
      ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      // A short cap: while the old primary is down, each reconnect asks the
      // sentinels again, and the first one after the promotion succeeds. With
      // the 2 s cap a client found the new primary up to 2 s late (ioredis's
      // failoverDetector only helps connected clients). Never give up (null
      // would make ioredis stop for good).
      retryStrategy: (times: number) => backoff(times, 500),
      sentinelRetryStrategy: (times: number) => backoff(times, 500),
      sentinelCommandTimeout: 1000,
      // Subscribe to the sentinels' +switch-master: reconnect as soon as a
      // replica is promoted, instead of when the old connection times out.
      failoverDetector: true,
      reconnectOnError,
      Connector: DetectorSafeSentinelConnector,
    });
    // What ioredis does for its own SentinelConnector (its sentinelReconnecting/failoverSubscribed events).
    (client as unknown as { connector: { emitter: unknown } }).connector.emitter = client;
    return client;
  }
  // A managed Redis that fails over behind one DNS name: reconnect, and reach the new primary.
  return new Redis(target.url, { ...common, reconnectOnError });
}

/**
 * ioredis's SentinelConnector, minus a race that ends the client for good.
 * The failover detector (a +switch-master subscription on the sentinels) is
 * only replaced once a connection to a primary succeeds. While a SIGKILLed
 * primary is down the client keeps reconnecting, each attempt asking the
 * sentinels for the primary, and the old detector is still subscribed: the
 * promotion's +switch-master makes it call connector.disconnect(). Landing
 * while connect() awaits a sentinel's answer, that makes connect() throw
 * "Connection is closed." and ioredis sets the client to 'end', never to
 * reconnect (every gateway and worker client at once). A loaded machine,
 * where the sentinel query is slow, hits this window on most failovers.
 * A connect that starts has no connection left for the old detector to
 * guard: drop it first; the next connection that succeeds subscribes anew.
 */
class DetectorSafeSentinelConnector extends SentinelConnector {
  // ioredis constructs a custom Connector with `options: unknown`: they are the sentinel options.
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override connect(
    ...args: Parameters<SentinelConnector['connect']>
  ): ReturnType<SentinelConnector['connect']> {
    const self = this as unknown as { failoverDetector?: { cleanup(): void } | null };
    self.failoverDetector?.cleanup();
    self.failoverDetector = null;
    return super.connect(...args);
  }
}

/**
 * A demoted primary that is still reachable answers writes with READONLY:
 * reconnect (through the sentinels, or the endpoint's DNS) and resend the command.
 */
function reconnectOnError(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

function backoff(times: number, capMs = 2000): number {
  return Math.min(50 * 2 ** Math.min(times, 6), capMs);
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
