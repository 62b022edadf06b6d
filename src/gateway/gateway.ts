import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { LocalClusterBus, type ClusterBus } from '../bus/cluster-bus.js';
import { RedisClusterBus } from '../bus/redis-bus.js';
import { generateClusterSecret, identityClaim, IdentitySigner } from '../cluster/identity.js';
import { HEADER } from '../protocol/headers.js';
import { checkOpsAccess } from '../http/admin-access.js';
import { proxyTrustFor } from '../http/client-address.js';
import { checkHostAndOrigin, hostPolicyFor } from '../http/host-validation.js';
import { writeJson } from '../http/json-response.js';
import { listen, reachableHost, serverOptions, type RequestTimeouts } from '../http/listen.js';
import { RPC, sendRpcError } from '../protocol/jsonrpc.js';
import { closeRedis, connectRedis, redactRedisUrl, type RedisClient } from '../redis/connection.js';
import { KeySchema } from '../redis/keys.js';
import { httpUrl } from '../util/net.js';
import { anonymous, unlimited, type Authenticator, type Limiter } from './admission.js';
import { CorsPolicy } from './cors.js';
import { serveDashboard } from './dashboard/dashboard-routes.js';
import { TrafficHistory } from './dashboard/traffic-history.js';
import { WorkerStats } from './dashboard/worker-stats.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { McpRouter } from './router.js';
import {
  MemorySessionBackend,
  RedisSessionBackend,
  type SessionBackend,
} from './sessions/session-backend.js';
import { SessionDirectory } from './sessions/session-directory.js';
import {
  MemoryUserSessionIndex,
  RedisUserSessionIndex,
  type UserSessionIndex,
} from './sessions/user-sessions.js';
import { ToolCatalog } from './tool-catalog.js';
import { WorkerPool, type WorkerTarget } from './worker-pool.js';

export interface GatewayOptions {
  /** Names this gateway in its status and logs (default `gateway`). */
  id?: string;
  host: string;
  port: number;
  /**
   * A second listener with only the ops endpoints (/healthz, /readyz,
   * /metrics, /_mcp-scale/status) of this one process, bound exclusively:
   * when gateways share `port`, this is how one of them is probed.
   */
  adminPort?: number;
  /**
   * What GET /metrics on `port` answers instead of this process's own
   * registry (gateways sharing the port: the aggregate of all of them).
   */
  sharedMetrics?: () => Promise<string>;
  path: string;
  /** Fixed workers; empty = find them in the Redis registry. */
  workers: WorkerTarget[];
  /** undefined = single-node memory mode. */
  redisUrl?: string;
  prefix: string;
  clusterSecret?: string;
  sessionTtlMs: number;
  /** Live 2025 sessions per user (identity, or `ip:<addr>` anonymously); 0 = unlimited. */
  maxSessionsPerUser?: number;
  /** Replay state per session in bytes (initialize params + recorded calls); default 16 KiB. */
  maxSessionStateBytes?: number;
  /** Session records kept in memory; default 50,000. */
  sessionCacheSize?: number;
  /** Open 2026 subscriptions/listen streams per user on this gateway; 0 = unlimited. */
  maxListenStreamsPerUser?: number;
  maxInflight: number;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  drainTimeoutMs: number;
  /** `--sse-heartbeat`: a `: keepalive` comment on SSE responses quiet this long (0 = none). */
  sseHeartbeatMs?: number;
  corsOrigins: string[];
  allowedHosts: string[];
  adminToken?: string;
  /** Read X-Forwarded-For from loopback and private-range peers (the rightmost untrusted hop). */
  trustProxy: boolean;
  /** Narrows trustProxy to these addresses / CIDR ranges (implies it). */
  trustedProxies?: string[];
  healthIntervalMs?: number;
  /** Interval of the dashboard's traffic history (default 2 s). */
  historyIntervalMs?: number;
  /** Header and whole-request timeouts (default 15 s / 30 s). */
  requestTimeouts?: RequestTimeouts;
  authenticator?: Authenticator;
  limiter?: Limiter;
}

export interface GatewayStatus {
  id: string;
  pid: number;
  url: string;
  degraded: boolean;
  redis: { mode: 'redis' | 'memory'; url?: string; status: string };
  sessions: { known: number; cacheSize: number; pendingWrites: number; userCapEvictions: number };
  workers: {
    id: string;
    url: string;
    pid?: number;
    port: number;
    healthy: boolean;
    sessions?: number;
    inflight: number;
    streams: number;
    /** Restarts this gateway noticed (the worker's pid changed). */
    restarts: number;
  }[];
  limits?: { degraded: boolean; detail: string };
  /** Counts since this gateway started (the dashboard's totals). */
  traffic: {
    /** Requests on the MCP endpoint, by era. */
    requests: { legacy: number; modern: number };
    /** 429s by rate-limit policy (every configured policy, 0 until it refuses). */
    rateLimited: Record<string, number>;
    rehomes: number;
  };
  /** The last 50 worker events this gateway saw (down, up, restarted), oldest first. */
  events: { at: number; worker: string; event: 'down' | 'up' | 'restarted'; pid?: number }[];
}

export interface Gateway {
  url: string;
  port: number;
  /** The ops-only listener's port, when adminPort was given. */
  adminPort?: number;
  metrics: GatewayMetrics;
  status(): GatewayStatus;
  /** Stops accepting, lets in-flight requests finish (bounded by drainTimeoutMs), closes everything. Safe twice. */
  close(): Promise<void>;
}

const DEFAULTS = { sessionCacheSize: 50_000, maxSessionStateBytes: 16 * 1024 };

/** The gateway role: an HTTP front for workers, SDK-agnostic, streaming. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const keys = new KeySchema(options.prefix);
  const redis: RedisClient | undefined = options.redisUrl
    ? connectRedis(options.redisUrl, { connectionName: 'mcp-scale-gateway', commandTimeoutMs: 500 })
    : undefined;
  redis?.on('error', () => {});
  const bus: ClusterBus = options.redisUrl
    ? new RedisClusterBus(options.redisUrl, keys, 'mcp-scale-gateway')
    : new LocalClusterBus();
  const backend: SessionBackend = redis ? new RedisSessionBackend(redis, keys) : new MemorySessionBackend();
  const userSessions: UserSessionIndex = redis
    ? new RedisUserSessionIndex(redis, keys)
    : new MemoryUserSessionIndex();
  const directory = new SessionDirectory(backend, bus, {
    ttlMs: options.sessionTtlMs,
    cacheSize: options.sessionCacheSize ?? DEFAULTS.sessionCacheSize,
    onOwnerUse: (owner, id) => void userSessions.touch(owner, id).catch(() => {}),
  });
  // Ready once Redis has answered at least once; after that a Redis outage
  // degrades the gateway (known sessions keep working) instead of taking it
  // out of the load balancer's rotation, which would turn it into an outage.
  let redisEverReady = false;
  redis?.on('ready', () => {
    redisEverReady = true;
    void directory.flushPending();
  });

  const clusterSecret = options.clusterSecret ?? generateClusterSecret();
  const signer = new IdentitySigner(clusterSecret);
  const pool = new WorkerPool({
    signer,
    static: options.workers,
    registry: options.workers.length === 0 && redis ? { redis, keys, secret: clusterSecret } : undefined,
    healthIntervalMs: options.healthIntervalMs ?? 1000,
    unhealthyAfter: 2,
    connectionsPerWorker: Math.max(32, options.maxInflight),
  });
  const catalog = new ToolCatalog(pool, () => ({ [HEADER.identity]: identityClaim({}) }));
  const limiter = options.limiter ?? unlimited;
  const metrics = new GatewayMetrics({
    sessionCount: () => directory.size,
    workers: () => pool.list(),
    policies: () => limiter.policyNames?.() ?? [],
    redis: () => ({ mode: redis ? 'redis' : 'memory', ready: !redis || redis.status === 'ready' }),
    degraded: () => status().degraded,
  });
  // What happened to workers lately, for the dashboard (a bounded log: polling would miss a quick restart).
  const events: GatewayStatus['events'] = [];
  const logEvent = (worker: string, event: 'down' | 'up' | 'restarted', pid?: number) => {
    events.push({ at: Date.now(), worker, event, ...(pid !== undefined ? { pid } : {}) });
    if (events.length > 50) events.shift();
  };
  pool.on('restarted', (worker) => {
    metrics.workerRestarts.inc({ worker: worker.id });
    logEvent(worker.id, 'restarted', worker.pid);
  });
  pool.on('down', (worker) => logEvent(worker.id, 'down'));
  pool.on('recovered', (worker) => logEvent(worker.id, 'up', worker.pid));
  const history = new TrafficHistory(options.historyIntervalMs);
  const workerStats = new WorkerStats(options.adminToken);
  const cors = new CorsPolicy(options.corsOrigins);
  const router = new McpRouter({
    options: {
      maxBodyBytes: options.maxBodyBytes,
      maxInflight: options.maxInflight,
      upstreamTimeoutMs: options.upstreamTimeoutMs,
      sseHeartbeatMs: options.sseHeartbeatMs,
      proxyTrust: proxyTrustFor(options.trustProxy, options.trustedProxies),
      sessionTtlMs: options.sessionTtlMs,
      maxSessionsPerUser: options.maxSessionsPerUser ?? 0,
      maxSessionStateBytes: options.maxSessionStateBytes ?? DEFAULTS.maxSessionStateBytes,
      maxListenStreamsPerUser: options.maxListenStreamsPerUser ?? 0,
    },
    pool,
    directory,
    userSessions,
    catalog,
    metrics,
    history,
    authenticator: options.authenticator ?? anonymous,
    limiter,
    corsHeaders: (req) => cors.headers(req),
  });
  const hostPolicy = hostPolicyFor(options.host, options.allowedHosts, options.corsOrigins);
  let url = '';

  const status = (): GatewayStatus => {
    const limits = limiter.status?.();
    const redisStatus = redis ? redis.status : 'memory';
    return {
      id: options.id ?? 'gateway',
      pid: process.pid,
      url,
      degraded:
        (redis !== undefined && redisStatus !== 'ready') ||
        pool.healthyCount() === 0 ||
        limits?.degraded === true,
      redis: {
        mode: redis ? 'redis' : 'memory',
        url: options.redisUrl ? redactRedisUrl(options.redisUrl) : undefined,
        status: redisStatus,
      },
      sessions: {
        known: directory.size,
        cacheSize: directory.cacheSize,
        pendingWrites: directory.pendingWrites,
        userCapEvictions: router.userCapEvictions,
      },
      workers: pool.list().map((w) => ({
        id: w.id,
        url: w.url,
        pid: w.pid,
        port: Number(new URL(w.url).port),
        healthy: w.healthy,
        sessions: w.sessions,
        inflight: w.inflight,
        streams: w.openStreams,
        restarts: w.restarts,
      })),
      limits,
      traffic: {
        requests: history.requestTotals(),
        rateLimited: metrics.rateLimitedCounts(limiter.policyNames?.() ?? []),
        rehomes: metrics.rehomeCount(),
      },
      events: [...events],
    };
  };

  const dashboard = {
    status,
    history,
    workerStats,
    pool,
    adminToken: options.adminToken,
    secure: (req: IncomingMessage) =>
      options.trustProxy && String(req.headers['x-forwarded-proto']).split(',')[0]?.trim() === 'https',
  };

  let draining = false;
  let active = 0;
  const server = http.createServer(serverOptions(options.requestTimeouts), (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === options.path) {
      if (cors.preflight(req, res)) return;
      const rejected = checkHostAndOrigin(req, hostPolicy);
      if (rejected) return sendRpcError(res, 403, null, RPC.serverError, `Forbidden: ${rejected}`);
      if (draining) {
        res.setHeader('connection', 'close');
        return sendRpcError(res, 503, null, RPC.unavailable, 'The gateway is shutting down', {
          headers: { 'retry-after': '1' },
        });
      }
      active++;
      void router.handle(req, res).finally(() => active--);
      return;
    }
    serveOps(req, res, path, options.sharedMetrics);
  });
  const adminServer =
    options.adminPort === undefined
      ? undefined
      : http.createServer(serverOptions(options.requestTimeouts), (req, res) =>
          serveOps(req, res, (req.url ?? '/').split('?')[0] ?? '/'),
        );

  function serveOps(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    metricsText: () => Promise<string> = () => metrics.registry.metrics(),
  ) {
    const admin = path === '/metrics' || path === '/_mcp-scale' || path.startsWith('/_mcp-scale/');
    const refused = checkOpsAccess(req, hostPolicy, {
      required: admin,
      token: options.adminToken,
      cookie: true,
    });
    if (refused) {
      // With --admin-token, a browser without the cookie yet gets the dashboard's login page.
      if (admin && refused.status === 401 && serveDashboard(req, res, path, false, dashboard)) return;
      return writeJson(res, refused.status, { error: refused.error });
    }
    if (admin && serveDashboard(req, res, path, true, dashboard)) return;
    if (path === '/healthz')
      return writeJson(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' });
    if (path === '/readyz') {
      const current = status();
      const ready = !draining && pool.healthyCount() > 0 && (!redis || redisEverReady);
      return writeJson(res, ready ? 200 : 503, {
        ready,
        degraded: current.degraded,
        redis: current.redis.status,
        workersHealthy: pool.healthyCount(),
        ...(current.degraded && redis && redis.status !== 'ready'
          ? {
              detail:
                'Redis unreachable: serving sessions known to this gateway; new sessions are written when Redis returns',
            }
          : {}),
      });
    }
    if (admin) {
      if (path === '/metrics') {
        metricsText().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(text);
          },
          (error: Error) => writeJson(res, 503, { error: `metrics unavailable: ${error.message}` }),
        );
        return;
      }
      if (path === '/_mcp-scale/status') {
        // Diagnostics: `?gc=1` collects garbage first when the process runs
        // with --expose-gc, so heap figures (memory per session) are exact.
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc && (req.url ?? '').includes('gc=1')) gc();
        return writeJson(res, 200, { ...status(), memory: process.memoryUsage() });
      }
    }
    writeJson(res, 404, { error: `not found: ${path}` });
  }

  await pool.start();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const closed = new Promise<void>((resolve) =>
        server.listening ? server.close(() => resolve()) : resolve(),
      );
      const adminClosed = new Promise<void>((resolve) =>
        adminServer?.listening ? adminServer.close(() => resolve()) : resolve(),
      );
      server.closeIdleConnections();
      const deadline = Date.now() + options.drainTimeoutMs;
      while (active > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      adminServer?.closeAllConnections();
      await Promise.all([closed, adminClosed]);
      directory.close();
      history.close();
      await pool.close();
      await limiter.close?.();
      await bus.close();
      await closeRedis(redis);
    })();
    return closing;
  };

  let port: number;
  let adminPort: number | undefined;
  try {
    port = await listen(server, options.port, options.host);
    adminPort = adminServer
      ? await listen(adminServer, options.adminPort ?? 0, options.host, { exclusive: true })
      : undefined;
  } catch (error) {
    // A port that cannot be bound ends the start: nothing is left listening or
    // polling, so the process exits with the error instead of hanging.
    await close();
    throw error;
  }
  url = httpUrl(reachableHost(options.host), port, options.path);
  void catalog.ensure();

  return { url, port, adminPort, metrics, status, close };
}
