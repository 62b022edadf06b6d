import { UserError } from '../errors.js';
import type { RateSpec } from './rate.js';

/**
 * The one description of a cluster, shared by `serve`, `gateway`, `worker`
 * and `gen` so that what runs locally and what is generated for production
 * agree: the typed, resolved settings. Each field is declared as a setting
 * in src/config/settings/ (flag, env, config key, parser, default, roles),
 * and resolved there: defaults < config file < environment < flags.
 */
export type AuthMode = 'none' | 'apikey' | 'jwt';
export type RedisFailurePolicy = 'open' | 'local' | 'closed';
export type SessionMode = 'stateful' | 'stateless';
export type Affinity = 'gateway' | 'session' | 'ip' | 'none';
export type CacheScopeName = 'public' | 'user';

export interface LimitsConfig {
  /** Per-user budget (per client IP with --auth none). */
  rateLimit?: RateSpec;
  /** Block a key for this long once its limit is hit. */
  blockMs?: number;
  /** Per-IP budget for unauthenticated requests. */
  ipRateLimit?: RateSpec;
  /** Per tool, per user. */
  toolLimits: Record<string, RateSpec>;
  /** Points a call to the tool consumes from the user's budget (default 1). */
  toolCosts: Record<string, number>;
  onRedisFailure: RedisFailurePolicy;
}

export interface AuthConfig {
  mode: AuthMode;
  apiKeysFile?: string;
  jwtSecret?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** URL of the RFC 9728 protected-resource metadata, advertised in WWW-Authenticate. */
  resourceMetadata?: string;
  /** Accept JWTs without `exp` (never expiring); refused by default. */
  jwtAllowNoExp: boolean;
  /** Honour X-Forwarded-For from loopback and private-range peers (only behind a proxy you run). */
  trustProxy: boolean;
  /** Honour it from these addresses / CIDR ranges only (narrows trustProxy, implies it). */
  trustedProxies?: string[];
}

export interface CacheConfig {
  /** Tool name → TTL in ms; a tool without one is never cached. */
  ttlMs: Record<string, number>;
  /** Tool name → scope; user-scoped entries are keyed by the signed identity. */
  scope: Record<string, CacheScopeName>;
  /** Tools cached even though they are not annotated readOnlyHint. */
  force: string[];
  /** Give up on Redis after this long and call the backend. */
  timeoutMs: number;
}

export interface ClusterConfig {
  host: string;
  port: number;
  /** The MCP endpoint path on gateways and workers. */
  path: string;
  instances: number;
  gateways: number;
  /** 'auto' | 'memory' | a redis://, rediss:// or redis-cluster:// URL. */
  redis: string;
  prefix: string;
  /** Module exporting an McpServer factory; undefined = the built-in demo server. */
  server?: string;
  /** Any command serving Streamable HTTP on {port} / $PORT. */
  serverCmd?: string;
  backendLatencyMs: number;
  sessions: SessionMode;
  sessionTtlMs: number;
  /** Live 2025 sessions per worker host; undefined = the host's default (5000). Not for --server-cmd. */
  maxSessionsPerWorker?: number;
  /** Live 2025 sessions per user at the gateway (user = identity, or client IP under --auth none); 0 = unlimited. */
  maxSessionsPerUser: number;
  /** Bytes of replay state a session may keep (initialize params + recorded calls). */
  maxSessionStateBytes: number;
  /** Session records a gateway keeps in memory (an LRU in front of Redis). */
  sessionCacheSize: number;
  /** Open 2026 `subscriptions/listen` streams per user per gateway; 0 = unlimited. */
  maxListenStreamsPerUser: number;
  /** Worker host: serialized SSE events kept for `Last-Event-ID` replay, all sessions together. */
  replayBufferBytes: number;
  /** Worker host: how long an SSE event stays replayable. */
  replayWindowMs: number;
  maxInflight: number;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  drainTimeoutMs: number;
  /** Gateway: SSE comment line on streams quiet this long (0 = none). */
  sseHeartbeatMs: number;
  corsOrigins: string[];
  allowedHosts: string[];
  adminToken?: string;
  clusterSecret?: string;
  /**
   * Workers serve requests without a gateway's signature (clients reach them
   * directly). Implied under `serve` by --lb with --affinity session|ip|none.
   */
  directWorkers: boolean;
  auth: AuthConfig;
  limits: LimitsConfig;
  cache: CacheConfig;
  lb?: 'nginx' | 'haproxy';
  affinity: Affinity;
  /**
   * OTLP/HTTP base endpoint for traces (`--otlp-endpoint`); wins over
   * OTEL_EXPORTER_OTLP_ENDPOINT. The other OTEL_* variables are read as OTel
   * defines them (src/telemetry/tracing-config.ts).
   */
  otlpEndpoint?: string;
  /** `serve`: restarts of one worker before the supervisor leaves it down (undefined = no limit). */
  maxRestarts?: number;
  /** Settings only `gen` reads (proxy, image, Kubernetes); see src/gen/options.ts. */
  gen?: GenSettings;
}

/** `gen`-only keys, accepted in the config file so one file describes the whole cluster. */
export interface GenSettings {
  /** Where the API keys file comes from: a Kubernetes Secret / compose secret file name, or 'placeholder'. */
  apiKeysSecret?: string;
  serverName?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `10r/s`, `600r/m` or `10/1s`: per-client-IP limit enforced by nginx. */
  nginxRateLimit?: string;
  nginxBurst?: number;
  image?: string;
  /** `[ID=]HOST:PORT` proxy backends instead of the compose service names. */
  upstream?: string[];
  minReplicas?: number;
  maxReplicas?: number;
  cpuTarget?: number;
  streamTimeoutMs?: number;
  /** nginx: concurrent SSE GET streams per client IP (0 = no limit). */
  streamLimitPerIp?: number;
  /** FROM of the generated Dockerfile (`node:<tag>[@sha256:…]`). */
  baseImage?: string;
  /** Kubernetes: sleep before SIGTERM, while endpoints and the ingress forget the pod. */
  preStopMs?: number;
  /** Kubernetes NetworkPolicy: the namespace allowed to scrape /metrics. */
  monitoringNamespace?: string;
  /** ... and, optionally, only its pods with these labels (`k=v,k2=v2`). */
  monitoringSelector?: string;
  /** Kubernetes: Gateway API (Gateway + HTTPRoute) instead of an Ingress. */
  gatewayApi?: boolean;
  /** gatewayClassName of the generated Gateway. */
  gatewayClass?: string;
  /** `gen prometheus|grafana` (src/gen/monitoring/monitoring-options.ts). */
  discovery?: 'static' | 'kubernetes';
  gatewayTarget?: string[];
  workerTarget?: string[];
  scrapeIntervalMs?: number;
  alertForMs?: number;
  alert429Ratio?: number;
  alertP99Ms?: number;
  alertRehomeRate?: number;
  alertSessionsCap?: number;
  metricsTokenFile?: string;
}

export const DEMO_CACHE_TTL_MS: Record<string, number> = {
  get_product: 300_000,
  search_products: 60_000,
  get_inventory: 10_000,
  get_user: 600_000,
};

export function validateClusterConfig(config: ClusterConfig): void {
  if (!Number.isInteger(config.instances) || config.instances < 1 || config.instances > 64) {
    throw new UserError(`--instances must be from 1 to 64, got ${config.instances}`);
  }
  if (!Number.isInteger(config.gateways) || config.gateways < 1 || config.gateways > 16) {
    throw new UserError(`--gateways must be from 1 to 16, got ${config.gateways}`);
  }
  if (!config.path.startsWith('/')) throw new UserError(`--path must start with /, got '${config.path}'`);
  if (config.server && config.serverCmd) throw new UserError('use either --server or --server-cmd, not both');
  if (config.serverCmd && config.maxSessionsPerWorker !== undefined) {
    throw new UserError(
      '--max-sessions-per-worker applies to mcp-scale worker hosts, not to a --server-cmd process; bound its users with --max-sessions-per-user',
    );
  }
  if (config.maxSessionStateBytes < 1024) {
    throw new UserError(`--max-session-state must be at least 1kb, got ${config.maxSessionStateBytes}`);
  }
  if (config.clusterSecret !== undefined && Buffer.byteLength(config.clusterSecret) < 32) {
    throw new UserError(
      'the cluster secret must be at least 32 bytes (MCP_SCALE_CLUSTER_SECRET / --cluster-secret)',
    );
  }
  if (config.auth.mode === 'apikey' && !config.auth.apiKeysFile)
    throw new UserError('--auth apikey needs --api-keys FILE');
  if (config.auth.mode === 'jwt' && !config.auth.jwtSecret && !config.auth.jwksUrl) {
    throw new UserError('--auth jwt needs --jwt-secret or --jwks-url');
  }
  for (const [tool, cost] of Object.entries(config.limits.toolCosts)) {
    if (!Number.isInteger(cost) || cost < 1)
      throw new UserError(`--tool-cost ${tool}=${cost}: the cost must be a whole number >= 1`);
  }
}

export {
  defaultClusterConfig,
  resolveClusterConfig,
  resolveSettings,
  readConfigFile,
} from './settings/index.js';
