import type { Affinity } from '../config/cluster-config.js';
import { wholeSeconds } from './options.js';
import type { GenOptions, ProxyRateLimit, TlsFiles, UpstreamAddress } from './types.js';

/** Ports the roles listen on inside containers and pods. */
export const GATEWAY_PORT = 8080;
export const WORKER_PORT = 3000;

export type ProxyTier = 'gateway' | 'worker';

/** A slow client gets this long for headers and body; streams are bounded by the stream timeout. */
export const PROXY_BODY_TIMEOUT_S = 15;
/** Docker's embedded DNS server, inside every container on a user-defined network. */
export const DOCKER_DNS = '127.0.0.11';
/** Default `--stream-limit-per-ip`: high, since many users can share one address. */
export const DEFAULT_STREAMS_PER_IP = 256;

/**
 * How the proxies treat an instance that fails, for instances a supervisor
 * (serve, Docker's restart policy, Kubernetes) restarts within a second or
 * two. Only what cannot have reached an instance is sent to another one: a
 * failed connection, or a GET that got no answer. A POST an instance had
 * received may have run its tool call, so it is never re-sent.
 */
export const PROXY_FAILOVER = {
  /** A live instance on the same network connects in ms; 2 s tolerates one lost SYN (resent after 1 s). */
  connectTimeoutS: 2,
  /** nginx: one failed attempt takes a server out for failTimeoutS; then one live request probes it. */
  maxFails: 1,
  failTimeoutS: 2,
  /** nginx: a request tries at most this many servers, within this long. */
  nextUpstreamTries: 3,
  nextUpstreamTimeoutS: 10,
  /** HAProxy: a failed connection is retried this many times, each on another server (redispatch 1). */
  retries: 3,
  /** HAProxy active checks: ms between checks when up, while changing state, and when down. */
  checkInterMs: 2000,
  checkFastInterMs: 500,
  checkDownInterMs: 1000,
  checkFall: 3,
  checkRise: 2,
} as const;

export type ProxyFailover = typeof PROXY_FAILOVER;

/**
 * What the nginx and HAProxy templates render. Built from GenOptions for
 * `gen`, and from startLoadBalancer's options for a local run, so the file a
 * user deploys and the one `serve --lb` runs come from one template.
 */
export interface ProxyModel {
  affinity: Affinity;
  /** Gateways (affinity gateway) or workers directly (session, ip, none). */
  tier: ProxyTier;
  /** undefined = every interface. */
  listenHost?: string;
  listenPort: number;
  serverName: string;
  tls?: TlsFiles;
  rateLimit?: ProxyRateLimit;
  maxBodyBytes: number;
  streamTimeoutS: number;
  connectTimeoutS: number;
  /** Retries, passive marking and health-check pacing (PROXY_FAILOVER). */
  failover: ProxyFailover;
  /** How long a client may take to send headers/body (nginx per read, HAProxy whole request). */
  bodyTimeoutS: number;
  /** nginx limit_conn on SSE GET streams per client IP; 0 = none. */
  streamsPerIp: number;
  /**
   * Re-resolve upstream names through this DNS server (compose: Docker's
   * 127.0.0.11); undefined = names are resolved once at start (addresses given).
   */
  resolver?: { address: string; port?: number; validS: number };
  upstreams: UpstreamAddress[];
  /** HAProxy global maxconn; undefined lets HAProxy derive it from the open-file limit. */
  maxConnections?: number;
  runtime: ProxyRuntimePaths;
  /** Comment lines stating the choices made and why. */
  header: string[];
}

/**
 * Where nginx keeps its pid, lock, temp files and logs. Relative paths are
 * relative to `nginx -p PREFIX`, so the generated file can be checked and run
 * without touching /run, /var/lib/nginx or /var/log.
 */
export interface ProxyRuntimePaths {
  pidFile: string;
  lockFile: string;
  /** Folder (with trailing slash, or '') the *_temp_path folders are created in. */
  tempDir: string;
  errorLog: string;
  /** A path, or 'off'. */
  accessLog: string;
  workerProcesses: string;
  /** HAProxy `log` target, or undefined for no logging. */
  haproxyLog?: string;
}

export const CONTAINER_RUNTIME_PATHS: ProxyRuntimePaths = {
  pidFile: 'nginx.pid',
  lockFile: 'nginx.lock',
  tempDir: '',
  errorLog: 'stderr',
  accessLog: '/dev/stdout',
  workerProcesses: 'auto',
  haproxyLog: 'stdout format raw local0',
};

export function tierFor(affinity: Affinity): ProxyTier {
  return affinity === 'gateway' ? 'gateway' : 'worker';
}

/** The compose service names the proxy reaches by default. */
export function defaultUpstreams(options: Pick<GenOptions, 'affinity' | 'instances' | 'gateways'>) {
  const tier = tierFor(options.affinity);
  const count = tier === 'gateway' ? options.gateways : options.instances;
  return Array.from({ length: count }, (_, i): UpstreamAddress => {
    return tier === 'gateway'
      ? { id: `g${i + 1}`, host: `gateway-${i + 1}`, port: GATEWAY_PORT }
      : { id: `w${i + 1}`, host: `worker-${i + 1}`, port: WORKER_PORT };
  });
}

export function proxyModelFromOptions(options: GenOptions, header: string[]): ProxyModel {
  return {
    affinity: options.affinity,
    tier: tierFor(options.affinity),
    listenPort: options.port,
    serverName: options.serverName,
    tls: options.tls,
    rateLimit: options.rateLimit,
    maxBodyBytes: options.maxBodyBytes,
    streamTimeoutS: wholeSeconds(options.streamTimeoutMs),
    connectTimeoutS: PROXY_FAILOVER.connectTimeoutS,
    failover: PROXY_FAILOVER,
    bodyTimeoutS: PROXY_BODY_TIMEOUT_S,
    streamsPerIp: options.streamsPerIp,
    upstreams: options.upstreams ?? defaultUpstreams(options),
    // The compose service names: Docker's embedded DNS gives a recreated container a new address.
    resolver: options.upstreams ? undefined : { address: DOCKER_DNS, validS: 10 },
    maxConnections: 10_000,
    runtime: CONTAINER_RUNTIME_PATHS,
    header,
  };
}

/** nginx wants sizes as `4m`, `512k` or bytes. */
export function nginxSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** `host:port` with IPv6 hosts bracketed. */
export function hostPort(upstream: Pick<UpstreamAddress, 'host' | 'port'>): string {
  const host =
    upstream.host.includes(':') && !upstream.host.startsWith('[') ? `[${upstream.host}]` : upstream.host;
  return `${host}:${upstream.port}`;
}

/** The nginx upstream group holding one worker (ids match WORKER_ID_PATTERN, so this is a safe name). */
export function upstreamName(id: string): string {
  return `mcp_worker_${id}`;
}
