import http, { type ServerResponse } from 'node:http';
import os from 'node:os';
import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { ClusterBus } from '../bus/cluster-bus.js';
import { LocalClusterBus } from '../bus/cluster-bus.js';
import { IpcClusterBus } from '../bus/ipc-bus.js';
import { RedisClusterBus } from '../bus/redis-bus.js';
import { attachWorkerCache, createWorkerCache } from '../cache/worker-cache.js';
import type { ToolResultCache } from '../cache/tool-result-cache.js';
import { generateClusterSecret } from '../cluster/identity.js';
import { WorkerRequestState } from '../cluster/request-state.js';
import type { CacheConfig } from '../config/cluster-config.js';
import type { Authenticator, Limiter } from '../gateway/admission.js';
import { WorkerRegistration } from '../cluster/worker-registry.js';
import { hostPolicyFor } from '../http/host-validation.js';
import { listen, reachableHost, serverOptions, type RequestTimeouts } from '../http/listen.js';
import { HEADER } from '../protocol/headers.js';
import { RPC, sendRpcError } from '../protocol/jsonrpc.js';
import { closeRedis, connectRedis, type RedisClient } from '../redis/connection.js';
import { KeySchema } from '../redis/keys.js';
import { httpUrl } from '../util/net.js';
import { createDemoServerFactory } from './demo/demo-server.js';
import { MemoryShopState, RedisShopState } from './demo/shop-state.js';
import { LegacySessions } from './legacy-sessions.js';
import { WorkerMcpEndpoint } from './mcp-endpoint.js';
import { serveWorkerOps } from './ops-endpoints.js';
import { ClusterServerEventBus } from './server-events.js';
import { fromFactory, loadServerModule, type LoadedServer } from './server-loader.js';
import type { ServerFactory, ServerFactoryContext } from './server-module.js';
import { tracingActive } from '../telemetry/mcp-spans.js';
import { withErrorTracing } from './request-trace.js';
import { ReplayBuffer, type ReplayBounds } from './event-store.js';
import { WorkerMetrics } from './worker-metrics.js';

export interface WorkerHostOptions {
  id: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  path: string;
  /** Module path of the server; undefined hosts the demo shop. */
  server?: string;
  /** A factory given in code (tests, embedding), instead of a module path. */
  serverFactory?: ServerFactory;
  backendLatencyMs: number;
  /** Redis for the cluster bus, registry and shared state; undefined = memory mode. */
  redisUrl?: string;
  prefix: string;
  clusterSecret?: string;
  sessions: 'stateful' | 'stateless';
  sessionIdleMs: number;
  /**
   * Live 2025 sessions at most (`--max-sessions-per-worker`, default
   * DEFAULT_MAX_SESSIONS_PER_WORKER; 0 = unbounded). Past it the least
   * recently used idle session is evicted; the gateway replays it on its next request.
   */
  maxSessions?: number;
  /** What the worker keeps for `Last-Event-ID` replay (`--replay-buffer`, `--replay-window`). */
  replay?: ReplayBounds;
  maxBodyBytes: number;
  /**
   * Announce this worker in the Redis registry under this URL (separate
   * roles); `auto` derives it from the bound host (the machine's hostname
   * when bound to all interfaces) and the actual port.
   */
  advertiseUrl?: string;
  heartbeatMs?: number;
  /**
   * On close(): how long requests already running may take to finish
   * (`--drain-timeout`). 0 (the default, and what `serve` uses when the whole
   * cluster stops) closes at once.
   */
  drainTimeoutMs?: number;
  allowedHosts?: string[];
  /** Bearer token required for /metrics (from every client); without it, loopback clients only. */
  adminToken?: string;
  /** Header and whole-request timeouts (default 15 s / 30 s). */
  requestTimeouts?: RequestTimeouts;
  /** Tool-result cache (`--cache-*`); the demo shop has default TTLs when none are given. */
  cache?: CacheConfig;
  /**
   * `--direct-workers`: serve requests that carry no gateway signature
   * (clients reach this worker without a gateway). Default false: such
   * requests get 403. See request-identity.ts.
   */
  acceptUnsigned?: boolean;
  /**
   * `--auth` for a direct worker (nginx/HAProxy with --affinity session):
   * checks requests that carry no signed identity.
   */
  authenticator?: Authenticator;
  /**
   * `--rate-limit` and friends for a direct worker: counts the requests that
   * carry no gateway signature, like a gateway would (same Redis keys).
   */
  limiter?: Limiter;
  /** Take the client address from X-Forwarded-For (behind the balancer) for per-IP limits. */
  trustProxy?: boolean;
  /** Narrows trustProxy to these addresses / CIDR ranges (implies it). */
  trustedProxies?: string[];
}

/**
 * Default `--max-sessions-per-worker`. A 2025-era SDK session costs a worker
 * about 50-80 KB (a server instance, a transport, an event store), so 5,000
 * live sessions hold roughly 250-400 MB on top of the process's own ~100 MB:
 * it fits a 512 MiB-1 GiB container, and far more clients than that are
 * served anyway, since an evicted session is replayed on its next request.
 */
export const DEFAULT_MAX_SESSIONS_PER_WORKER = 5000;

export interface WorkerHost {
  id: string;
  url: string;
  port: number;
  serverName: string;
  sdk: 'v1' | 'v2';
  /**
   * Drains, then stops: readiness and the registry say draining at once, new
   * requests get 503 + Mcp-Scale-Draining (gateways send them elsewhere),
   * GET streams end, running requests finish within drainTimeoutMs; then
   * sessions end and the worker unregisters. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * One worker: hosts an MCP server (demo, user module) on `path` for both
 * wire eras, plus /healthz, /readyz and /metrics.
 */
export async function startWorkerHost(options: WorkerHostOptions): Promise<WorkerHost> {
  const keys = new KeySchema(options.prefix);
  const redis: RedisClient | undefined = options.redisUrl
    ? connectRedis(options.redisUrl, { connectionName: `mcp-scale-worker-${options.id}` })
    : undefined;
  redis?.on('error', () => {});
  let redisEverReady = redis?.status === 'ready';
  redis?.on('ready', () => (redisEverReady = true));
  const bus: ClusterBus = options.redisUrl
    ? new RedisClusterBus(options.redisUrl, keys, `mcp-scale-worker-${options.id}`)
    : process.send
      ? new IpcClusterBus()
      : new LocalClusterBus();

  const secret = options.clusterSecret ?? generateClusterSecret();
  const requestState = new WorkerRequestState(secret);
  const context = (user: string | undefined, era: 'legacy' | 'modern'): ServerFactoryContext => ({
    workerId: options.id,
    era,
    user,
    requestState,
    bus,
  });

  const toolCache = createWorkerCache({
    config: options.cache,
    demo: !options.server && !options.serverFactory,
    redis,
    keys,
    bus,
  });
  const unwrapped = await loadServer(options, bus, redis, keys, context('__probe__', 'legacy'), toolCache);
  // Every server instance's transport is tapped by the cache (see cache/transport-tap.ts).
  const cached = toolCache
    ? await attachWorkerCache(toolCache, unwrapped, context(undefined, 'legacy'))
    : unwrapped;
  const loaded = tracingActive() ? withErrorTracing(cached) : cached;
  let inflight = 0;
  const metrics = new WorkerMetrics(
    options.id,
    () => legacy.size,
    () => inflight,
    () => legacy.replay,
  );
  const legacy = new LegacySessions({
    workerId: options.id,
    loaded,
    context: (user) => context(user, 'legacy'),
    idleTimeoutMs: options.sessionIdleMs,
    stateless: options.sessions === 'stateless',
    maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS_PER_WORKER,
    replay: new ReplayBuffer(options.replay),
    onEvicted: () => metrics.evictions.inc(),
    onRefused: () => metrics.refusals.inc(),
  });
  const stateless = options.sessions === 'stateless';
  const modern: McpHttpHandler | undefined =
    loaded.sdk === 'v2'
      ? createMcpHandler(
          async (requestCtx) => {
            const user = (requestCtx.authInfo?.extra as { user?: string } | undefined)?.user;
            return (await loaded.create(context(user, requestCtx.era))) as never;
          },
          {
            legacy: stateless ? 'stateless' : 'reject',
            bus: new ClusterServerEventBus(bus),
            maxRequestBodySize: options.maxBodyBytes,
          },
        )
      : undefined;

  let draining = false;
  const streams = new Set<ServerResponse>();
  metrics.maxSessions.set(legacy.maxSessions);
  if (toolCache) {
    toolCache.onOutcome = (tool, outcome) => metrics.cache.inc({ tool, outcome });
    // Tools with a TTL have their hit/miss/bypass series from the start (hit-ratio panels and alerts).
    for (const tool of Object.keys(toolCache.settings.ttlMs)) {
      for (const outcome of ['hit', 'miss', 'bypass']) metrics.cache.inc({ tool, outcome }, 0);
    }
  }
  const hostPolicy = hostPolicyFor(options.host, options.allowedHosts ?? [], []);
  let origin = '';

  const endpoint = new WorkerMcpEndpoint({
    options,
    secret,
    hostPolicy,
    legacy,
    modern,
    stateless,
    requestState,
    metrics,
    origin: () => origin,
    draining: () => draining,
    streams,
  });

  const server = http.createServer(serverOptions(options.requestTimeouts), (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader(HEADER.instance, options.id);
    if (path === options.path) {
      const counted = req.method !== 'GET';
      if (counted) inflight++;
      endpoint
        .handle(req, res)
        .catch((error: unknown) => {
          console.error(`[worker ${options.id}] request failed:`, error);
          sendRpcError(res, 500, null, RPC.internalError, 'Internal error');
        })
        .finally(() => {
          if (counted) inflight--;
        });
      return;
    }
    serveWorkerOps(req, res, path ?? '/', {
      id: options.id,
      draining: () => draining,
      sessions: () => legacy.size,
      sessionTable: () => ({
        live: legacy.size,
        idle: legacy.idleCount,
        max: legacy.maxSessions,
        evicted: legacy.evictions,
        refused: legacy.refusals,
      }),
      replay: () => legacy.replay.status(),
      inflight: () => inflight,
      server: { name: loaded.name, sdk: loaded.sdk },
      redisStatus: () => redis?.status,
      redisEverReady: () => redisEverReady,
      metrics,
      hostPolicy,
      adminToken: options.adminToken,
    });
  });
  const port = await listen(server, options.port, options.host);
  origin = httpUrl(reachableHost(options.host), port);
  const url = `${origin}${options.path}`;

  let registration: WorkerRegistration | undefined;
  if (redis && options.advertiseUrl) {
    registration = new WorkerRegistration(
      redis,
      keys,
      {
        id: options.id,
        url:
          options.advertiseUrl === 'auto'
            ? advertisedUrl(options.host, port, options.path)
            : options.advertiseUrl,
        pid: process.pid,
        host: options.host,
        startedAt: Date.now(),
      },
      secret,
      options.heartbeatMs ?? 1000,
    );
    registration.start();
  }

  let closing: Promise<void> | undefined;
  return {
    id: options.id,
    url,
    port,
    serverName: loaded.name,
    sdk: loaded.sdk,
    close() {
      closing ??= (async () => {
        draining = true;
        await registration?.markDraining();
        for (const stream of streams) stream.destroy();
        const deadline = Date.now() + (options.drainTimeoutMs ?? 0);
        while (inflight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        await registration?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await legacy.closeAll();
        await modern?.close().catch(() => {});
        await toolCache?.close();
        await options.limiter?.close?.();
        server.closeAllConnections();
        await closed;
        await bus.close();
        await closeRedis(redis);
      })();
      return closing;
    },
  };
}

async function loadServer(
  options: WorkerHostOptions,
  bus: ClusterBus,
  redis: RedisClient | undefined,
  keys: KeySchema,
  probe: ServerFactoryContext,
  cache?: ToolResultCache,
): Promise<LoadedServer> {
  if (options.serverFactory) return fromFactory('custom', options.serverFactory, probe);
  if (options.server) return loadServerModule(options.server, probe);
  const state = redis ? new RedisShopState(bus, redis, keys) : new MemoryShopState(bus);
  if (state instanceof RedisShopState) await state.load();
  const factory = createDemoServerFactory({ state, backendLatencyMs: options.backendLatencyMs, cache });
  return fromFactory('demo', factory, probe);
}

function advertisedUrl(host: string, port: number, path: string): string {
  const reachable = host === '0.0.0.0' || host === '::' ? os.hostname() : host;
  return httpUrl(reachable, port, path);
}
