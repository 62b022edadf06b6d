import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig } from '../config/cluster-config.js';
import { isBusIpcMessage } from '../bus/ipc-bus.js';
import { writeJsonAtomic } from '../util/files.js';
import { findFreePort, httpUrl } from '../util/net.js';
import type { RunningLoadBalancer } from '../gen/run-lb.js';
import { roleInvocation, withoutSettingEnv } from '../config/settings/role-invocation.js';
import { refuseUnhonoured, type Topology } from '../config/settings/topology-rules.js';
import { UserError } from '../errors.js';
import { generateClusterSecret } from './identity.js';
import { checkGatewayCount, createGatewayTier, type GatewayEntry, type GatewayTier } from './gateway-tier.js';
import { ManagedChild } from './managed-child.js';
import { resolveServeRedis, type RedisMode, type ServeRedis } from './redis-mode.js';
import { findRunningCluster, removeClusterState, writeClusterState } from './state-file.js';

export interface StartClusterOptions {
  /** The resolved settings; each child role gets the ones it reads (roleInvocation). */
  config: ClusterConfig;
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
  /** The first of `gateways` (kept for readers of the single-gateway shape). */
  gateway: { url: string; pid: number; port: number };
  /** Every gateway; `port` is its own (admin) port, where this one gateway can be probed. */
  gateways: GatewayEntry[];
  redis: ReadyRedis;
  instances: { id: string; pid: number; port: number; url: string }[];
  lb?: { kind: string; affinity: string; url: string; pid: number };
  sessions: 'stateful' | 'stateless';
  server: string;
  prefix: string;
}

/** The ready file's `redis`: with `--redis ha`, each process serve started, in its current role. */
export interface ReadyRedis {
  mode: RedisMode;
  url?: string;
  primary?: { pid: number; port: number };
  replica?: { pid: number; port: number };
  sentinels?: { pid: number; port: number }[];
  /** The private redis-server's pid (mode private). */
  pid?: number;
}

export interface RunningCluster {
  url: string;
  info(): ReadyInfo;
  workers: ManagedChild[];
  /** The first gateway. */
  gateway: ManagedChild;
  gateways: ManagedChild[];
  redisDescription: string;
  stateFile?: string;
  /** Drains the gateway, stops workers, the load balancer and a private Redis. Safe twice. */
  close(): Promise<void>;
}

export const CLI_PATH = fileURLToPath(new URL('../../bin/mcp-scale.js', import.meta.url));

/**
 * `serve`: Redis (when needed), N workers and a gateway as child processes,
 * health-checked and restarted with backoff; stops everything it started.
 */
export async function startCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const { config } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const baseEnv = options.env ?? process.env;
  const topology = refuseUnservable(config);
  // Clients reach workers without a gateway: with --direct-workers, or with a
  // load balancer that keeps sessions itself (affinity session/ip/none). Such
  // workers are the edge: they authenticate and limit what no gateway signed.
  const directWorkers = config.directWorkers || topology.direct;
  // Clean up after a supervisor that was killed before it could (its private Redis).
  findRunningCluster(baseEnv);
  const redis = await resolveServeRedis(config, baseEnv);
  try {
    refuseUnhonoured(config, { ...topology, unsharedCounts: !redis.url && config.instances > 1 });
    checkGatewayCount(config, redis.mode);
  } catch (error) {
    await redis.local?.close();
    throw error;
  }
  // Every child gets the same secret; one is made up when the user gave none.
  const shared: ClusterConfig = {
    ...config,
    clusterSecret: config.clusterSecret ?? generateClusterSecret(),
    redis: redis.url ?? 'memory',
  };
  // A child's settings are exactly its invocation: inherited settings variables could contradict it.
  const env = withoutSettingEnv(baseEnv);
  // Behind the balancer, its X-Forwarded-For is the client address (it is the only peer).
  const behindBalancer = { ...shared.auth, trustProxy: shared.auth.trustProxy || config.lb !== undefined };
  const invoke = (role: 'gateway' | 'worker', overrides: Partial<ClusterConfig>) => {
    // Secrets (cluster secret, tokens, a Redis URL with a password) come back in env, never argv.
    const invocation = roleInvocation({ ...shared, auth: behindBalancer, ...overrides }, role, {
      direct: directWorkers,
    });
    return { args: [role, ...invocation.args], env: { ...env, ...invocation.env } };
  };
  const workers: ManagedChild[] = [];
  let tier: GatewayTier | undefined;
  let balancer: RunningLoadBalancer | undefined;
  const cleanup = async () => {
    await balancer?.close();
    await tier?.stop(config.drainTimeoutMs + 2000);
    // The gateways are gone, so workers have nothing in flight and leave at once;
    // the margin only keeps SIGKILL from racing a drain that is finishing.
    await Promise.all(workers.map((worker) => worker.stop(config.drainTimeoutMs + 2000)));
    await redis.close();
  };

  try {
    for (let i = 1; i <= config.instances; i++) {
      const id = `w${i}`;
      const port = await findFreePort();
      const worker = invoke('worker', { host: '127.0.0.1', port, directWorkers });
      const workerEnv: NodeJS.ProcessEnv = { ...worker.env, PORT: String(port) };
      // A --server-cmd worker is the user's process: the endpoint reaches it the OTel way.
      if (config.serverCmd && config.otlpEndpoint)
        workerEnv.OTEL_EXPORTER_OTLP_ENDPOINT = config.otlpEndpoint;
      const launch = config.serverCmd
        ? { kind: 'command' as const, command: config.serverCmd.replaceAll('{port}', String(port)) }
        : { kind: 'role' as const, cliPath: CLI_PATH, args: [...worker.args, '--id', id] };
      // A --server-cmd process is the user's own server: it is not given the private Redis's password.
      if (config.serverCmd && redis.mode === 'private') delete worker.env.MCP_SCALE_REDIS_URL;
      workers.push(
        new ManagedChild({
          name: id,
          launch,
          env: workerEnv,
          port,
          probeUrl: config.serverCmd ? httpUrl('127.0.0.1', port, config.path) : undefined,
          readyTimeoutMs: 30_000,
          restart: true,
          maxRestarts: config.maxRestarts,
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
    const lbTrust: Partial<ClusterConfig> =
      config.lb && !config.auth.trustedProxies ? { auth: { ...config.auth, trustProxy: true } } : {};
    tier = await createGatewayTier({
      config,
      cliPath: CLI_PATH,
      // Behind --lb the proxy (on loopback) is the gateways' only peer: its
      // X-Forwarded-For names the client, else every client would be 127.0.0.1.
      invoke: (overrides) => invoke('gateway', { ...lbTrust, ...overrides }),
      workerArgs: workers.flatMap((worker) => ['--worker', `${worker.spec.name}=${workerUrl(worker)}`]),
      log,
    });
    await tier.start();
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
            ? tier.upstreams()
            : workers.map((worker) => ({ id: worker.spec.name, url: workerUrl(worker) })),
        maxBodyBytes: config.maxBodyBytes,
      });
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  const gateways = tier;
  const gatewayChild = gateways.children[0]!;
  const gatewayPort = gateways.entryPort;
  const gatewayUrl = httpUrl(config.lb ? '127.0.0.1' : displayHost(config.host), gatewayPort, config.path);
  const lb = balancer;
  const entryUrl = lb ? httpUrl(displayHost(config.host), lb.port, config.path) : gatewayUrl;
  const info = (): ReadyInfo => ({
    url: entryUrl,
    gateway: { url: gatewayUrl, pid: gatewayChild.pid ?? 0, port: gatewayPort },
    gateways: gateways
      .list()
      .map((entry) => (gateways.layout === 'cluster' ? { ...entry, url: gatewayUrl } : entry)),
    redis: readyRedis(redis),
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

  const healthUrl = (child: ManagedChild) =>
    gateways.children.includes(child)
      ? gateways.healthUrl(child)
      : config.serverCmd
        ? httpUrl('127.0.0.1', child.spec.port, config.path)
        : httpUrl('127.0.0.1', child.spec.port, '/healthz');
  const health = superviseHealth(
    [...workers, ...gateways.children],
    healthUrl,
    options.healthIntervalMs ?? 2000,
  );
  const refreshReadyFile = () => {
    if (options.readyFile) writeReadyFile(options.readyFile, info());
  };
  // A restarted worker has a new pid: keep the ready file true.
  for (const child of [...workers, ...gateways.children]) child.on('restarted', refreshReadyFile);
  // --redis ha: the ready file names the current primary (what `bench --kill redis` kills).
  redis.ha?.onSwitch(() => {
    log(`Redis failover: the sentinels promoted pid ${redis.ha!.primary.pid} port ${redis.ha!.primary.port}`);
    refreshReadyFile();
  });
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
          privateRedisPids: redis.pids,
          privateRedisDir: redis.dir,
        });

  let closing: Promise<void> | undefined;
  return {
    url: entryUrl,
    info,
    workers,
    gateway: gatewayChild,
    gateways: gateways.children,
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

function readyRedis(redis: ServeRedis): ReadyRedis {
  const { ha } = redis;
  // A single private redis-server: its pid (what `bench --kill redis` kills).
  if (!ha) return { mode: redis.mode, url: redis.url, ...(redis.local ? { pid: redis.local.pid } : {}) };
  const node = (server: { pid: number; port: number }) => ({ pid: server.pid, port: server.port });
  return {
    mode: redis.mode,
    url: redis.url,
    primary: node(ha.primary),
    replica: node(ha.replica),
    sentinels: ha.sentinels.map(node),
  };
}

/** Restarts a worker or gateway whose process lives but whose /healthz stopped answering. */
function superviseHealth(
  children: ManagedChild[],
  healthUrl: (child: ManagedChild) => string,
  intervalMs: number,
): NodeJS.Timeout {
  const misses = new Map<ManagedChild, number>();
  const timer = setInterval(() => {
    for (const worker of children) {
      // A process still starting (slowly, on a loaded machine) is not hung: judge it once it serves.
      if (!worker.serving) {
        misses.set(worker, 0);
        continue;
      }
      const url = healthUrl(worker);
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

/**
 * Refuses (UserError, one line) a setting this serve topology cannot
 * honour, before anything starts. startCluster calls it; the CLI too, before
 * it says "starting".
 */
export function refuseUnservable(config: ClusterConfig): Topology {
  // A balancer reaching workers directly makes each worker the edge: it authenticates and limits.
  const topology: Topology = {
    label: serveLabel(config),
    command: 'serve',
    direct: config.lb !== undefined && config.affinity !== 'gateway',
    commandWorkers: config.serverCmd !== undefined,
  };
  refuseUnhonoured(config, topology);
  // `--redis auto` may still fall back to memory: startCluster checks again once Redis is resolved.
  checkGatewayCount(config, config.redis === 'memory' ? 'memory' : 'unresolved');
  if (!config.lb && config.affinity !== 'gateway') {
    throw new UserError(
      `--affinity ${config.affinity} says how a load balancer keeps sessions: add --lb nginx|haproxy, or drop it`,
    );
  }
  return topology;
}

/** How the user spelled this topology, for refusals. */
function serveLabel(config: ClusterConfig): string {
  const parts = ['serve'];
  if (config.lb) parts.push(`--lb ${config.lb} --affinity ${config.affinity}`);
  if (config.serverCmd) parts.push('--server-cmd');
  return parts.join(' ');
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}
