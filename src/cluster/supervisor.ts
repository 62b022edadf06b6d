import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig } from '../config/cluster-config.js';
import { isBusIpcMessage } from '../bus/ipc-bus.js';
import { writeJsonAtomic } from '../util/files.js';
import { findFreePort, httpUrl } from '../util/net.js';
import type { RunningLoadBalancer } from '../gen/run-lb.js';
import { generateClusterSecret } from './identity.js';
import { ManagedChild } from './managed-child.js';
import { resolveServeRedis, type RedisMode } from './redis-mode.js';
import { findRunningCluster, removeClusterState, writeClusterState } from './state-file.js';

export interface StartClusterOptions {
  config: ClusterConfig;
  /** The flags as typed (commander's values), forwarded to the roles so they resolve the same settings. */
  flags?: Record<string, unknown>;
  readyFile?: string;
  /** Write the state file under ~/.mcp-scale (default true). */
  writeState?: boolean;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** How often the supervisor checks each worker (default 2s); 3 misses in a row restart it. */
  healthIntervalMs?: number;
}

export interface ReadyInfo {
  /** What MCP clients connect to (the load balancer when --lb). */
  url: string;
  gateway: { url: string; pid: number; port: number };
  redis: { mode: RedisMode; url?: string };
  instances: { id: string; pid: number; port: number; url: string }[];
  lb?: { kind: string; affinity: string; url: string; pid: number };
  sessions: 'stateful' | 'stateless';
  server: string;
  prefix: string;
}

export interface RunningCluster {
  url: string;
  info(): ReadyInfo;
  workers: ManagedChild[];
  gateway: ManagedChild;
  redisDescription: string;
  stateFile?: string;
  /** Drains the gateway, stops workers, the load balancer and a private Redis. Safe twice. */
  close(): Promise<void>;
}

export const CLI_PATH = fileURLToPath(new URL('../../bin/mcp-scale.js', import.meta.url));

/** Flags forwarded as typed to each role (parsed there by the same rules). */
const WORKER_FLAGS = [
  'config',
  'drainTimeout',
  'server',
  'backendLatency',
  'sessions',
  'maxBody',
  'allowedHost',
  'cacheTtl',
  'cacheScope',
  'cacheForce',
  'cacheTimeout',
];
const GATEWAY_FLAGS = [
  'config',
  'sessionTtl',
  'maxInflight',
  'maxBody',
  'upstreamTimeout',
  'drainTimeout',
  'sseHeartbeat',
  'corsOrigin',
  'allowedHost',
  'trustProxy',
  'trustedProxies',
  'auth',
  'apiKeys',
  'jwksUrl',
  'jwtIssuer',
  'jwtAudience',
  'resourceMetadata',
  'rateLimit',
  'block',
  'ipRateLimit',
  'toolLimit',
  'toolCost',
  'limitsOnRedisFailure',
];

/**
 * `serve`: Redis (when needed), N workers and a gateway as child processes,
 * health-checked and restarted with backoff; stops everything it started.
 */
export async function startCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const { config } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const baseEnv = options.env ?? process.env;
  const flags = options.flags ?? {};
  // Clean up after a supervisor that was killed before it could (its private Redis).
  findRunningCluster(baseEnv);
  const redis = await resolveServeRedis(config, baseEnv);
  const secret = config.clusterSecret ?? generateClusterSecret();
  const env: NodeJS.ProcessEnv = { ...baseEnv, MCP_SCALE_CLUSTER_SECRET: secret };
  // Secrets travel in the environment, never in argv (visible to every user in ps).
  if (config.adminToken) env.MCP_SCALE_ADMIN_TOKEN = config.adminToken;
  if (config.auth.jwtSecret) env.MCP_SCALE_JWT_SECRET = config.auth.jwtSecret;
  const redisArg = redis.url ?? 'memory';
  const workers: ManagedChild[] = [];
  let gateway: ManagedChild | undefined;
  let balancer: RunningLoadBalancer | undefined;
  const cleanup = async () => {
    await balancer?.close();
    await gateway?.stop(config.drainTimeoutMs + 2000);
    // The gateway is gone, so workers have nothing in flight and leave at once;
    // the margin only keeps SIGKILL from racing a drain that is finishing.
    await Promise.all(workers.map((worker) => worker.stop(config.drainTimeoutMs + 2000)));
    await redis.local?.close();
  };

  try {
    for (let i = 1; i <= config.instances; i++) {
      const id = `w${i}`;
      const port = await findFreePort();
      const workerEnv = { ...env, PORT: String(port) };
      const launch = config.serverCmd
        ? { kind: 'command' as const, command: config.serverCmd.replaceAll('{port}', String(port)) }
        : {
            kind: 'role' as const,
            cliPath: CLI_PATH,
            args: [
              'worker',
              ...forward(flags, WORKER_FLAGS),
              '--id',
              id,
              '--host',
              '127.0.0.1',
              '--port',
              String(port),
              '--path',
              config.path,
              '--redis',
              redisArg,
              '--prefix',
              config.prefix,
              '--session-ttl',
              `${config.sessionTtlMs}ms`,
            ],
          };
      workers.push(
        new ManagedChild({
          name: id,
          launch,
          env: workerEnv,
          port,
          probeUrl: config.serverCmd ? httpUrl('127.0.0.1', port, config.path) : undefined,
          readyTimeoutMs: 30_000,
          restart: true,
          log,
        }),
      );
    }
    // Memory mode: workers share the cluster bus through this process.
    for (const worker of workers) {
      worker.on('message', (message: unknown, from: ManagedChild) => {
        if (!isBusIpcMessage(message)) return;
        for (const other of workers) if (other !== from) other.send(message);
      });
    }
    await Promise.all(workers.map((worker) => worker.start()));

    const workerUrl = (worker: ManagedChild) => httpUrl('127.0.0.1', worker.spec.port, config.path);
    // A fixed port, so a restarted gateway comes back where clients expect it.
    const gatewayPort = config.lb || config.port === 0 ? await findFreePort() : config.port;
    const gatewayHost = config.lb ? '127.0.0.1' : config.host;
    gateway = new ManagedChild({
      name: 'gateway',
      launch: {
        kind: 'role',
        cliPath: CLI_PATH,
        args: [
          'gateway',
          ...forward(flags, GATEWAY_FLAGS),
          '--host',
          gatewayHost,
          '--port',
          String(gatewayPort),
          '--path',
          config.path,
          '--redis',
          redisArg,
          '--prefix',
          config.prefix,
          ...workers.flatMap((worker) => ['--worker', `${worker.spec.name}=${workerUrl(worker)}`]),
          // Behind --lb the proxy (on loopback) is the gateway's only peer: its
          // X-Forwarded-For names the client, else every client would be 127.0.0.1.
          ...(config.lb && !config.auth.trustProxy && !config.auth.trustedProxies ? ['--trust-proxy'] : []),
        ],
      },
      env,
      port: gatewayPort,
      readyTimeoutMs: 30_000,
      restart: true,
      log,
    });
    await gateway.start();
    if (config.lb) {
      // The production topology on a laptop: the generated config, run for real.
      const { startLoadBalancer } = await import('../gen/run-lb.js');
      const affinity = config.affinity;
      balancer = await startLoadBalancer({
        kind: config.lb,
        affinity,
        listenHost: config.host,
        listenPort: config.port,
        upstreams:
          affinity === 'gateway'
            ? [{ id: 'gateway', url: httpUrl('127.0.0.1', gatewayPort, config.path) }]
            : workers.map((worker) => ({ id: worker.spec.name, url: workerUrl(worker) })),
        maxBodyBytes: config.maxBodyBytes,
      });
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  const gatewayChild = gateway;
  const gatewayPort = gatewayChild.spec.port;
  const gatewayUrl = httpUrl(config.lb ? '127.0.0.1' : displayHost(config.host), gatewayPort, config.path);
  const lb = balancer;
  const entryUrl = lb ? httpUrl(displayHost(config.host), lb.port, config.path) : gatewayUrl;
  const info = (): ReadyInfo => ({
    url: entryUrl,
    gateway: { url: gatewayUrl, pid: gatewayChild.pid ?? 0, port: gatewayPort },
    redis: { mode: redis.mode, url: redis.url },
    instances: workers.map((worker) => ({
      id: worker.spec.name,
      pid: worker.pid ?? 0,
      port: worker.spec.port,
      url: httpUrl('127.0.0.1', worker.spec.port, config.path),
    })),
    ...(lb ? { lb: { kind: lb.kind, affinity: config.affinity, url: entryUrl, pid: lb.pid } } : {}),
    sessions: config.sessions,
    server: config.serverCmd ? `command: ${config.serverCmd}` : (config.server ?? 'demo'),
    prefix: config.prefix,
  });

  const health = superviseHealth(workers, config, options.healthIntervalMs ?? 2000);
  const refreshReadyFile = () => {
    if (options.readyFile) writeReadyFile(options.readyFile, info());
  };
  // A restarted worker has a new pid: keep the ready file true.
  for (const child of [...workers, gatewayChild]) child.on('restarted', refreshReadyFile);
  refreshReadyFile();
  const stateFile =
    options.writeState === false
      ? undefined
      : writeClusterState({
          pid: process.pid,
          url: entryUrl,
          redis: { mode: redis.mode, url: redis.url },
          prefix: config.prefix,
          startedAt: new Date().toISOString(),
          readyFile: options.readyFile,
          privateRedisPid: redis.local?.pid,
        });

  let closing: Promise<void> | undefined;
  return {
    url: entryUrl,
    info,
    workers,
    gateway: gatewayChild,
    redisDescription: redis.description,
    stateFile,
    close() {
      closing ??= (async () => {
        clearInterval(health);
        if (stateFile) removeClusterState(stateFile);
        if (options.readyFile) fs.rmSync(options.readyFile, { force: true });
        await cleanup();
      })();
      return closing;
    },
  };
}

/** Restarts a worker whose process lives but whose /healthz stopped answering. */
function superviseHealth(workers: ManagedChild[], config: ClusterConfig, intervalMs: number): NodeJS.Timeout {
  const misses = new Map<ManagedChild, number>();
  const timer = setInterval(() => {
    for (const worker of workers) {
      if (!worker.running) continue;
      const url = config.serverCmd
        ? httpUrl('127.0.0.1', worker.spec.port, config.path)
        : httpUrl('127.0.0.1', worker.spec.port, '/healthz');
      fetch(url, { signal: AbortSignal.timeout(intervalMs) })
        .then((response) => {
          void response.body?.cancel();
          misses.set(worker, 0);
        })
        .catch(() => {
          const count = (misses.get(worker) ?? 0) + 1;
          misses.set(worker, count);
          if (count >= 3) {
            misses.set(worker, 0);
            worker.forceRestart(`no answer from ${url} ${count} times`);
          }
        });
    }
  }, intervalMs);
  timer.unref();
  return timer;
}

export function writeReadyFile(file: string, info: ReadyInfo): void {
  writeJsonAtomic(file, info);
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** Turns commander values back into argv for a child. */
export function forward(flags: Record<string, unknown>, keys: string[]): string[] {
  const args: string[] = [];
  for (const key of keys) {
    const value = flags[key];
    if (value === undefined || value === false) continue;
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (value === true) args.push(flag);
    else if (Array.isArray(value)) for (const item of value) args.push(flag, String(item));
    else args.push(flag, String(value));
  }
  return args;
}
