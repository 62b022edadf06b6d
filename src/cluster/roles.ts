import type { ClusterConfig } from '../config/cluster-config.js';
import { UserError } from '../errors.js';
import type { Authenticator, Limiter } from '../gateway/admission.js';
import { startGateway } from '../gateway/gateway.js';
import { hasPolicies, policiesFrom } from '../limits/policies.js';
import { parseWorkerTarget } from '../gateway/worker-pool.js';
import { redactRedisUrl } from '../redis/connection.js';
import { WORKER_ID_PATTERN } from '../protocol/headers.js';
import { startWorkerHost } from '../worker/host.js';
import fs from 'node:fs';
import { writeJsonAtomic } from '../util/files.js';
import { resolveTracing } from '../telemetry/tracing-config.js';
import { startTracing } from '../telemetry/tracing.js';
import { isClusterGateway, joinMetricsAggregation, requestClusterMetrics } from './metrics-aggregation.js';
import { closeOnSignals, signalFailed, signalReady, type ReadyMessage } from './ready-signal.js';

/**
 * The separate roles (`mcp-scale worker`, `mcp-scale gateway`), as run by
 * compose, Kubernetes, or `serve`'s supervisor. Each resolves its config,
 * starts, tells its supervisor it is ready, and stops cleanly on a signal.
 */

/** A role's Redis: the flag, else REDIS_URL, else memory. Roles never start a Redis. */
export function roleRedisUrl(config: ClusterConfig, env = process.env): string | undefined {
  if (config.redis === 'memory') return undefined;
  if (config.redis === 'ha')
    throw new UserError(
      '--redis ha is for serve (it starts a private Sentinel-managed Redis); give a role the redis-sentinel:// URL',
    );
  if (config.redis === 'auto') return env.REDIS_URL || undefined;
  return config.redis;
}

/** What `mcp-scale worker` takes besides the settings. */
export interface WorkerRoleOptions {
  id: string;
  /** Register under this URL in the Redis registry (default: derived from the listener). */
  advertiseUrl?: string;
  /** Write {role, id, url, port, pid} here once serving; removed on exit. */
  readyFile?: string;
}

export async function runWorker(config: ClusterConfig, options: WorkerRoleOptions): Promise<void> {
  const { id } = options;
  if (!WORKER_ID_PATTERN.test(id))
    throw new UserError(`--id '${id}' may use letters, digits, _ and - (at most 64)`);
  if (config.serverCmd) throw new UserError('--server-cmd is for serve: such a command is its own worker');
  const redisUrl = roleRedisUrl(config);
  // In a cluster (Redis, a registry entry) a gateway signs what it forwards; without the shared
  // secret every request would be refused. A worker alone, as a plain server, needs none.
  if (!config.clusterSecret && (redisUrl || options.advertiseUrl)) {
    throw new UserError(
      missingSecret(`this worker joins a cluster (${redisUrl ? 'Redis' : '--advertise-url'})`),
    );
  }
  // Before the host starts, so the hosted server's module sees the provider too.
  const tracing = startTracing(resolveTracing(config.otlpEndpoint), 'worker', id);
  try {
    const worker = await startWorkerHost({
      id,
      host: config.host,
      port: config.port,
      path: config.path,
      server: config.server,
      backendLatencyMs: config.backendLatencyMs,
      redisUrl,
      prefix: config.prefix,
      clusterSecret: config.clusterSecret,
      sessions: config.sessions,
      // The backstop for sessions a gateway forgot: a little over the gateway's TTL.
      sessionIdleMs: config.sessionTtlMs + 60_000,
      maxSessions: config.maxSessionsPerWorker,
      replay: { maxBytes: config.replayBufferBytes, windowMs: config.replayWindowMs },
      maxBodyBytes: config.maxBodyBytes,
      drainTimeoutMs: config.drainTimeoutMs,
      // With Redis, a worker always announces itself so separately run
      // gateways can find it; --advertise-url names the address they reach it at.
      advertiseUrl: options.advertiseUrl ?? (redisUrl ? 'auto' : undefined),
      allowedHosts: config.allowedHosts,
      adminToken: config.adminToken,
      cache: config.cache,
      acceptUnsigned: config.directWorkers,
      // Checked only on requests without a gateway's signature (--direct-workers: a
      // balancer reaching this worker directly, or clients using it alone).
      ...(config.directWorkers ? await edgeAdmission(config, redisUrl) : {}),
      trustProxy: config.auth.trustProxy,
      trustedProxies: config.auth.trustedProxies,
    });
    console.log(
      `worker ${worker.id} ready on ${worker.url} (${worker.serverName} server, SDK ${worker.sdk}, ${
        redisUrl ? `Redis ${redactRedisUrl(redisUrl)}` : 'memory mode'
      })`,
    );
    announceReady(options.readyFile, {
      role: 'worker',
      id: worker.id,
      url: worker.url,
      port: worker.port,
      pid: process.pid,
    });
    closeOnSignals(async () => {
      await worker.close();
      await tracing.close();
      removeReadyFile(options.readyFile);
    });
  } catch (error) {
    await tracing.close();
    signalFailed('worker', (error as Error).message);
    throw error;
  }
}

/** What `mcp-scale gateway` takes besides the settings. */
export interface GatewayRoleOptions {
  /** `[id=]url` of each worker; none: find them in the Redis registry. */
  workers?: readonly string[];
  readyFile?: string;
  /** Names the gateway in its status, logs and ready message (default `gateway`). */
  id?: string;
  /** Also serve this process's own ops endpoints on this port (`serve --gateways N` probes each). */
  adminPort?: string | number;
}

export async function runGateway(config: ClusterConfig, options: GatewayRoleOptions = {}): Promise<void> {
  const redisUrl = roleRedisUrl(config);
  if (!config.clusterSecret)
    throw new UserError(missingSecret('the gateway signs what it forwards to workers'));
  const workerSpecs = options.workers ?? [];
  let workers;
  try {
    workers = workerSpecs.map((spec, index) => parseWorkerTarget(spec, index));
  } catch (error) {
    throw new UserError(`--worker: ${(error as Error).message}`);
  }
  if (workers.length === 0 && !redisUrl) {
    throw new UserError('give workers with --worker URL, or --redis URL to find them in the registry');
  }
  const id = options.id ?? 'gateway';
  if (!WORKER_ID_PATTERN.test(id))
    throw new UserError(`--id '${id}' may use letters, digits, _ and - (at most 64)`);
  const adminPort = options.adminPort === undefined ? undefined : Number(options.adminPort);
  if (adminPort !== undefined && !(Number.isInteger(adminPort) && adminPort >= 0 && adminPort <= 65_535))
    throw new UserError(`--admin-port must be a port number (0-65535), got '${String(options.adminPort)}'`);
  // Forked by serve's cluster: the listening port is shared with the other gateways.
  const shared = isClusterGateway();
  const tracing = startTracing(
    resolveTracing(config.otlpEndpoint),
    'gateway',
    `${id}@${config.host}:${config.port}`,
  );
  try {
    const { createAdmission } = await import('./admission-factory.js');
    const admission = await createAdmission(config, redisUrl);
    const gateway = await startGateway({
      id,
      adminPort,
      sharedMetrics: shared ? () => requestClusterMetrics() : undefined,
      host: config.host,
      port: config.port,
      path: config.path,
      workers,
      redisUrl,
      prefix: config.prefix,
      clusterSecret: config.clusterSecret,
      sessionTtlMs: config.sessionTtlMs,
      maxSessionsPerUser: config.maxSessionsPerUser,
      maxSessionStateBytes: config.maxSessionStateBytes,
      sessionCacheSize: config.sessionCacheSize,
      maxListenStreamsPerUser: config.maxListenStreamsPerUser,
      maxInflight: config.maxInflight,
      maxBodyBytes: config.maxBodyBytes,
      upstreamTimeoutMs: config.upstreamTimeoutMs,
      drainTimeoutMs: config.drainTimeoutMs,
      sseHeartbeatMs: config.sseHeartbeatMs,
      corsOrigins: config.corsOrigins,
      allowedHosts: config.allowedHosts,
      adminToken: config.adminToken,
      trustProxy: config.auth.trustProxy,
      trustedProxies: config.auth.trustedProxies,
      authenticator: admission.authenticator,
      limiter: admission.limiter,
    });
    if (shared) joinMetricsAggregation(gateway.metrics.registry);
    console.log(
      `gateway ${id} ready on ${gateway.url}${gateway.adminPort ? ` (admin port ${gateway.adminPort})` : ''} (${workers.length > 0 ? `${workers.length} workers` : 'workers from the Redis registry'}, ${
        redisUrl ? `Redis ${redactRedisUrl(redisUrl)}` : 'memory mode'
      })`,
    );
    announceReady(options.readyFile, {
      role: 'gateway',
      id,
      url: gateway.url,
      port: gateway.port,
      ...(gateway.adminPort ? { adminPort: gateway.adminPort } : {}),
      pid: process.pid,
    });
    closeOnSignals(
      async () => {
        await gateway.close();
        await tracing.close();
        removeReadyFile(options.readyFile);
      },
      // Ctrl+C reaches a cluster gateway too (same process group as serve): serve drains it.
      { ignoreSigint: shared },
    );
  } catch (error) {
    // Name the port that was taken: the admin port (--admin-port) fails the same way.
    const taken = (error as NodeJS.ErrnoException & { port?: number }).port ?? config.port;
    const message =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${taken} is already in use (${taken === config.port ? '--port' : '--admin-port'})`
        : (error as Error).message;
    await tracing.close();
    signalFailed('gateway', message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(message);
    throw error;
  }
}

/** The one line a role without the cluster secret stops with. */
export function missingSecret(why: string): string {
  return `no cluster secret (${why}): set MCP_SCALE_CLUSTER_SECRET to the same value (>= 32 bytes, e.g. openssl rand -base64 36) for every gateway and worker`;
}

/** A worker's own authenticator and limiter, when its settings ask for them. */
async function edgeAdmission(
  config: ClusterConfig,
  redisUrl: string | undefined,
): Promise<{ authenticator?: Authenticator; limiter?: Limiter }> {
  const limited = hasPolicies(policiesFrom(config.limits));
  if (config.auth.mode === 'none' && !limited) return {};
  const { createAdmission } = await import('./admission-factory.js');
  const admission = await createAdmission(config, redisUrl);
  return { authenticator: admission.authenticator, ...(limited ? { limiter: admission.limiter } : {}) };
}

/** Tells the supervisor (IPC) and whoever waits on `--ready-file` that this role serves. */
function announceReady(readyFile: string | undefined, message: Omit<ReadyMessage, 'type'>): void {
  signalReady(message);
  if (readyFile) writeJsonAtomic(readyFile, message);
}

function removeReadyFile(readyFile: string | undefined): void {
  if (readyFile) fs.rmSync(readyFile, { force: true });
}
