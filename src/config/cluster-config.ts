import fs from 'node:fs';
import { UserError } from '../errors.js';
import { parseDuration } from './duration.js';
import { parseRate, type RateSpec } from './rate.js';
import { parseSize } from './size.js';
import { validateTrustedProxies } from '../http/client-address.js';

/**
 * The one description of a cluster, shared by `serve`, `gateway`, `worker`
 * and `gen` so that what runs locally and what is generated for production
 * agree. Resolved in labelled stages: defaults < config file < environment
 * < flags (see resolveClusterConfig).
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
  auth: AuthConfig;
  limits: LimitsConfig;
  cache: CacheConfig;
  lb?: 'nginx' | 'haproxy';
  affinity: Affinity;
  /** Settings only `gen` reads (proxy, image, Kubernetes); see src/gen/options.ts. */
  gen?: GenSettings;
}

/** `gen`-only keys, accepted in the config file so one file describes the whole cluster. */
export interface GenSettings {
  serverName?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `10r/s`, `600r/m` or `10/1s`: per-client-IP limit enforced by nginx. */
  nginxRateLimit?: string;
  nginxBurst?: number;
  image?: string;
  /** FROM of the generated Dockerfile (`node:<tag>[@sha256:…]`). */
  baseImage?: string;
  /** `[ID=]HOST:PORT` proxy backends instead of the compose service names. */
  upstream?: string[];
  minReplicas?: number;
  maxReplicas?: number;
  cpuTarget?: number;
  streamTimeoutMs?: number;
  /** nginx: concurrent SSE GET streams per client IP (0 = no limit). */
  streamLimitPerIp?: number;
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
}

export const DEMO_CACHE_TTL_MS: Record<string, number> = {
  get_product: 300_000,
  search_products: 60_000,
  get_inventory: 10_000,
  get_user: 600_000,
};

export function defaultClusterConfig(): ClusterConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    path: '/mcp',
    instances: 3,
    gateways: 1,
    redis: 'auto',
    prefix: 'mcp-scale:',
    backendLatencyMs: 20,
    sessions: 'stateful',
    sessionTtlMs: 3_600_000,
    maxInflight: 128,
    maxBodyBytes: 4 * 1024 * 1024,
    upstreamTimeoutMs: 300_000,
    drainTimeoutMs: 10_000,
    sseHeartbeatMs: 15_000,
    corsOrigins: [],
    allowedHosts: [],
    auth: { mode: 'none', trustProxy: false },
    limits: { toolLimits: {}, toolCosts: {}, onRedisFailure: 'local' },
    cache: { ttlMs: {}, scope: {}, force: [], timeoutMs: 50 },
    affinity: 'gateway',
  };
}

/**
 * The config file (`mcp-scale.config.json`): the same keys as the long
 * flags, camelCased, with durations, rates and sizes in the flag syntax.
 * Example:
 *   { "instances": 4, "rateLimit": "60/1m", "toolLimit": { "search_products": "10/1m" },
 *     "cacheTtl": { "get_product": "5m" }, "sessionTtl": "30m" }
 */
export type ConfigFile = Record<string, unknown>;

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as ConfigFile;
  } catch (error) {
    throw new UserError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Applies flag-shaped values (from a config file or from commander) onto a config. */
export function applySettings(
  config: ClusterConfig,
  settings: Record<string, unknown>,
  source: string,
): ClusterConfig {
  const next: ClusterConfig = structuredClone(config);
  for (const [key, raw] of Object.entries(settings)) {
    if (raw === undefined) continue;
    const apply = SETTERS[key];
    if (!apply) {
      if (source === 'flags') continue; // commander options that are not cluster settings
      throw new UserError(`unknown key '${key}' in ${source}`);
    }
    try {
      apply(next, raw);
    } catch (error) {
      if (error instanceof UserError) {
        const where =
          source === 'flags'
            ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
            : `${source}: ${key}`;
        throw new UserError(`${where}: ${error.message}`);
      }
      throw error;
    }
  }
  return next;
}

const str = (v: unknown): string => {
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new UserError(`expected a string, got ${JSON.stringify(v)}`);
  return String(v);
};
const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : Number(str(v));
  if (!Number.isFinite(n)) throw new UserError(`expected a number, got ${JSON.stringify(v)}`);
  return n;
};
const bool = (v: unknown): boolean => v === true || v === 'true' || v === 1;
// Durations use the one syntax everywhere: a bare number (in a file, too) means seconds.
const duration = (v: unknown): number => parseDuration(typeof v === 'number' ? v : str(v));
const size = (v: unknown): number => parseSize(typeof v === 'number' ? v : str(v));
const rate = (v: unknown): RateSpec =>
  typeof v === 'object' && v !== null && 'points' in v ? (v as RateSpec) : parseRate(str(v));
const list = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.map(str)
    : str(v)
        .split(',')
        .map((s) => s.trim());
/** `{tool: value}` objects from the file, or `['tool=value', …]` from repeatable flags. */
function mapOf<T>(v: unknown, parse: (value: unknown) => T): Record<string, T> {
  const entries: [string, unknown][] = Array.isArray(v)
    ? v.map((item) => {
        if (Array.isArray(item)) return [String(item[0]), item[1]];
        const text = str(item);
        const i = text.indexOf('=');
        if (i <= 0) throw new UserError(`expected NAME=VALUE, got '${text}'`);
        return [text.slice(0, i), text.slice(i + 1)];
      })
    : typeof v === 'object' && v !== null
      ? Object.entries(v)
      : [];
  return Object.fromEntries(entries.map(([k, value]) => [k, parse(value)]));
}
function oneOf<T extends string>(choices: readonly T[]) {
  return (v: unknown): T => {
    const s = str(v);
    if (!(choices as readonly string[]).includes(s))
      throw new UserError(`expected one of ${choices.join(', ')}, got '${s}'`);
    return s as T;
  };
}

type Setter = (config: ClusterConfig, value: unknown) => void;
const SETTERS: Record<string, Setter> = {
  host: (c, v) => (c.host = str(v)),
  port: (c, v) => (c.port = num(v)),
  path: (c, v) => (c.path = str(v)),
  instances: (c, v) => (c.instances = num(v)),
  gateways: (c, v) => (c.gateways = num(v)),
  redis: (c, v) => (c.redis = str(v)),
  prefix: (c, v) => (c.prefix = str(v)),
  server: (c, v) => (c.server = str(v)),
  serverCmd: (c, v) => (c.serverCmd = str(v)),
  backendLatency: (c, v) => (c.backendLatencyMs = duration(v)),
  sessions: (c, v) => (c.sessions = oneOf(['stateful', 'stateless'] as const)(v)),
  sessionTtl: (c, v) => (c.sessionTtlMs = duration(v)),
  maxInflight: (c, v) => (c.maxInflight = num(v)),
  maxBody: (c, v) => (c.maxBodyBytes = size(v)),
  upstreamTimeout: (c, v) => (c.upstreamTimeoutMs = duration(v)),
  drainTimeout: (c, v) => (c.drainTimeoutMs = duration(v)),
  sseHeartbeat: (c, v) => (c.sseHeartbeatMs = duration(v)),
  corsOrigin: (c, v) => (c.corsOrigins = list(v)),
  allowedHost: (c, v) => (c.allowedHosts = list(v)),
  adminToken: (c, v) => (c.adminToken = str(v)),
  clusterSecret: (c, v) => (c.clusterSecret = str(v)),
  auth: (c, v) => (c.auth.mode = oneOf(['none', 'apikey', 'jwt'] as const)(v)),
  apiKeys: (c, v) => (c.auth.apiKeysFile = str(v)),
  jwtSecret: (c, v) => (c.auth.jwtSecret = str(v)),
  jwksUrl: (c, v) => (c.auth.jwksUrl = str(v)),
  jwtIssuer: (c, v) => (c.auth.jwtIssuer = str(v)),
  jwtAudience: (c, v) => (c.auth.jwtAudience = str(v)),
  resourceMetadata: (c, v) => (c.auth.resourceMetadata = str(v)),
  trustProxy: (c, v) => (c.auth.trustProxy = bool(v)),
  trustedProxies: (c, v) => (c.auth.trustedProxies = list(v).filter(Boolean)),
  rateLimit: (c, v) => (c.limits.rateLimit = rate(v)),
  block: (c, v) => (c.limits.blockMs = duration(v)),
  ipRateLimit: (c, v) => (c.limits.ipRateLimit = rate(v)),
  toolLimit: (c, v) => Object.assign(c.limits.toolLimits, mapOf(v, rate)),
  toolCost: (c, v) => Object.assign(c.limits.toolCosts, mapOf(v, num)),
  limitsOnRedisFailure: (c, v) => (c.limits.onRedisFailure = oneOf(['open', 'local', 'closed'] as const)(v)),
  cacheTtl: (c, v) => Object.assign(c.cache.ttlMs, mapOf(v, duration)),
  cacheScope: (c, v) => Object.assign(c.cache.scope, mapOf(v, oneOf(['public', 'user'] as const))),
  cacheForce: (c, v) => (c.cache.force = list(v)),
  cacheTimeout: (c, v) => (c.cache.timeoutMs = duration(v)),
  lb: (c, v) => (c.lb = oneOf(['nginx', 'haproxy'] as const)(v)),
  affinity: (c, v) => (c.affinity = oneOf(['gateway', 'session', 'ip', 'none'] as const)(v)),
  serverName: (c, v) => ((c.gen ??= {}).serverName = str(v)),
  tlsCert: (c, v) => ((c.gen ??= {}).tlsCert = str(v)),
  tlsKey: (c, v) => ((c.gen ??= {}).tlsKey = str(v)),
  nginxRateLimit: (c, v) => ((c.gen ??= {}).nginxRateLimit = str(v)),
  nginxBurst: (c, v) => ((c.gen ??= {}).nginxBurst = num(v)),
  image: (c, v) => ((c.gen ??= {}).image = str(v)),
  baseImage: (c, v) => ((c.gen ??= {}).baseImage = str(v)),
  upstream: (c, v) => ((c.gen ??= {}).upstream = list(v)),
  minReplicas: (c, v) => ((c.gen ??= {}).minReplicas = num(v)),
  maxReplicas: (c, v) => ((c.gen ??= {}).maxReplicas = num(v)),
  cpuTarget: (c, v) => ((c.gen ??= {}).cpuTarget = num(v)),
  streamTimeout: (c, v) => ((c.gen ??= {}).streamTimeoutMs = duration(v)),
  streamLimitPerIp: (c, v) => ((c.gen ??= {}).streamLimitPerIp = num(v)),
  preStop: (c, v) => ((c.gen ??= {}).preStopMs = duration(v)),
  monitoringNamespace: (c, v) => ((c.gen ??= {}).monitoringNamespace = str(v)),
  monitoringSelector: (c, v) => ((c.gen ??= {}).monitoringSelector = str(v)),
  gatewayApi: (c, v) => ((c.gen ??= {}).gatewayApi = bool(v)),
  gatewayClass: (c, v) => ((c.gen ??= {}).gatewayClass = str(v)),
};

/** Environment variables that stand for settings (flags still win). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (env.MCP_SCALE_CLUSTER_SECRET) settings.clusterSecret = env.MCP_SCALE_CLUSTER_SECRET;
  if (env.MCP_SCALE_ADMIN_TOKEN) settings.adminToken = env.MCP_SCALE_ADMIN_TOKEN;
  if (env.MCP_SCALE_PREFIX) settings.prefix = env.MCP_SCALE_PREFIX;
  if (env.MCP_SCALE_JWT_SECRET) settings.jwtSecret = env.MCP_SCALE_JWT_SECRET;
  return settings;
}

/**
 * defaults < config file (--config) < environment < flags. `flags` holds
 * commander's parsed options; keys that are not settings are ignored.
 */
export function resolveClusterConfig(flags: Record<string, unknown>, env = process.env): ClusterConfig {
  let config = defaultClusterConfig();
  if (typeof flags.config === 'string')
    config = applySettings(config, readConfigFile(flags.config), flags.config);
  config = applySettings(config, settingsFromEnv(env), 'environment');
  config = applySettings(config, flags, 'flags');
  validateClusterConfig(config);
  return config;
}

export function validateClusterConfig(config: ClusterConfig): void {
  if (!Number.isInteger(config.instances) || config.instances < 1 || config.instances > 64) {
    throw new UserError(`--instances must be from 1 to 64, got ${config.instances}`);
  }
  if (config.auth.trustedProxies) validateTrustedProxies(config.auth.trustedProxies);
  if (!config.path.startsWith('/')) throw new UserError(`--path must start with /, got '${config.path}'`);
  if (config.server && config.serverCmd) throw new UserError('use either --server or --server-cmd, not both');
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
