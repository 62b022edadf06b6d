import type { ClusterConfig } from '../config/cluster-config.js';
import { UserError } from '../errors.js';
import { startGateway } from '../gateway/gateway.js';
import { parseWorkerTarget } from '../gateway/worker-pool.js';
import { redactRedisUrl } from '../redis/connection.js';
import { WORKER_ID_PATTERN } from '../protocol/headers.js';
import { startWorkerHost } from '../worker/host.js';
import fs from 'node:fs';
import { writeJsonAtomic } from '../util/files.js';
import { resolveTracing } from '../telemetry/tracing-config.js';
import { startTracing } from '../telemetry/tracing.js';
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
      maxBodyBytes: config.maxBodyBytes,
      drainTimeoutMs: config.drainTimeoutMs,
      // With Redis, a worker always announces itself so separately run
      // gateways can find it; --advertise-url names the address they reach it at.
      advertiseUrl: options.advertiseUrl ?? (redisUrl ? 'auto' : undefined),
      allowedHosts: config.allowedHosts,
      adminToken: config.adminToken,
      cache: config.cache,
      acceptUnsigned: config.directWorkers,
      // Checked only on requests without a gateway's signed identity (--direct-workers).
      authenticator:
        config.auth.mode === 'none'
          ? undefined
          : (await import('../gateway/auth/index.js')).createAuthenticator(config.auth),
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
}

export async function runGateway(config: ClusterConfig, options: GatewayRoleOptions = {}): Promise<void> {
  const redisUrl = roleRedisUrl(config);
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
  const tracing = startTracing(
    resolveTracing(config.otlpEndpoint),
    'gateway',
    `${config.host}:${config.port}`,
  );
  try {
    const { createAdmission } = await import('./admission-factory.js');
    const admission = await createAdmission(config, redisUrl);
    const gateway = await startGateway({
      host: config.host,
      port: config.port,
      path: config.path,
      workers,
      redisUrl,
      prefix: config.prefix,
      clusterSecret: config.clusterSecret,
      sessionTtlMs: config.sessionTtlMs,
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
    console.log(
      `gateway ready on ${gateway.url} (${workers.length > 0 ? `${workers.length} workers` : 'workers from the Redis registry'}, ${
        redisUrl ? `Redis ${redactRedisUrl(redisUrl)}` : 'memory mode'
      })`,
    );
    announceReady(options.readyFile, {
      role: 'gateway',
      id: 'gateway',
      url: gateway.url,
      port: gateway.port,
      pid: process.pid,
    });
    closeOnSignals(async () => {
      await gateway.close();
      await tracing.close();
      removeReadyFile(options.readyFile);
    });
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${config.port} is already in use (--port)`
        : (error as Error).message;
    await tracing.close();
    signalFailed('gateway', message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(message);
    throw error;
  }
}

/** Tells the supervisor (IPC) and whoever waits on `--ready-file` that this role serves. */
function announceReady(readyFile: string | undefined, message: Omit<ReadyMessage, 'type'>): void {
  signalReady(message);
  if (readyFile) writeJsonAtomic(readyFile, message);
}

function removeReadyFile(readyFile: string | undefined): void {
  if (readyFile) fs.rmSync(readyFile, { force: true });
}
