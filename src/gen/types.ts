import type { Affinity, ClusterConfig, SessionMode } from '../config/cluster-config.js';
import type { MonitoringOptions } from './monitoring/monitoring-options.js';

/** What `mcp-scale gen <target>` can render. */
export const GEN_TARGETS = [
  'nginx',
  'haproxy',
  'docker',
  'compose',
  'k8s',
  'bench',
  'prometheus',
  'grafana',
  'all',
] as const;
export type GenTarget = (typeof GEN_TARGETS)[number];

/**
 * How a generated file is checked: the checker dispatches on this, never on
 * the file name, so `all` and single targets share one path.
 */
export type GeneratedKind =
  | 'nginx'
  | 'haproxy'
  | 'dockerfile'
  | 'dockerignore'
  | 'compose'
  | 'env'
  | 'k8s'
  | 'readme'
  | 'prometheus'
  | 'prometheus-rules'
  | 'grafana'
  | 'placeholder';

export interface GeneratedFile {
  /** Relative to the output folder, forward slashes. */
  path: string;
  content: string;
  kind: GeneratedKind;
  /** File mode when written; secrets are 0600. */
  mode?: number;
}

/** One proxy backend: a gateway (affinity gateway) or a worker (session, ip, none). */
export interface UpstreamAddress {
  /** Worker or gateway id; for session affinity it must be the worker's own id. */
  id: string;
  host: string;
  port: number;
}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** Per-client-IP request rate enforced by nginx in front of everything else. */
export interface ProxyRateLimit {
  /** nginx syntax, e.g. `10r/s` or `600r/m`. */
  nginxRate: string;
  /** The same rate in requests per second (ingress-nginx's limit-rps takes a whole number). */
  perSecond: number;
  burst: number;
}

/**
 * Everything `gen` needs, resolved from defaults < config file < env < flags
 * (see resolveGenOptions). Templates see a model built from this, never flags.
 */
export interface GenOptions {
  /** Public port of the proxy (nginx, HAProxy, compose's published port). */
  port: number;
  /** MCP endpoint path on gateways and workers. */
  path: string;
  instances: number;
  gateways: number;
  affinity: Affinity;
  sessions: SessionMode;
  /** Session lifetime: HAProxy's stick-table entries expire with it. */
  sessionTtlMs: number;
  /**
   * 'auto' deploys one Redis (compose service, k8s StatefulSet); 'ha' deploys a primary, a replica
   * and three sentinels; a URL uses that Redis instead.
   */
  redis: string;
  /** With --redis ha: the data nodes' password (requirepass/masterauth) and the sentinels' own. */
  redisHa?: { password: string; sentinelPassword: string };
  maxBodyBytes: number;
  /** proxy_read_timeout / timeout tunnel: how long an idle SSE stream may stay open. */
  streamTimeoutMs: number;
  drainTimeoutMs: number;
  /** nginx limit_conn on SSE GET streams per client IP (`--stream-limit-per-ip`); 0 = none. */
  streamsPerIp: number;
  serverName: string;
  tls?: TlsFiles;
  rateLimit?: ProxyRateLimit;
  /** Explicit proxy backends; default: compose service names. */
  upstreams?: UpstreamAddress[];
  image: string;
  /** FROM of the generated Dockerfile: node:<tag>, optionally pinned by digest. */
  baseImage: string;
  /** Server module bundled into the image (relative to the build context). */
  server?: string;
  /** Kubernetes preStop sleep (`--pre-stop`), in ms. */
  preStopMs: number;
  /** Namespace whose pods may reach the metrics ports (NetworkPolicy). */
  monitoringNamespace: string;
  /** Pod labels within it, or empty for any pod there. */
  monitoringSelector: Record<string, string>;
  /** Gateway API (Gateway + HTTPRoute) instead of an Ingress. */
  gatewayApi: boolean;
  gatewayClass: string;
  minReplicas: number;
  maxReplicas: number;
  /** HPA average CPU utilisation target, percent of the request. */
  cpuTargetPercent: number;
  /** The cluster secret written to .env / the k8s Secret. */
  clusterSecret: string;
  /** Password of the Redis gen deploys (--redis auto); undefined with your own Redis URL. */
  redisPassword?: string;
  /** Where the cluster secret came from: a flag, a file, the output folder, or new. */
  secretSource: 'flag' | 'file' | 'existing' | 'new' | 'rotated';
  /** `gen prometheus` / `gen grafana`: targets, discovery, alert thresholds. */
  monitoring: MonitoringOptions;
  /** Every resolved setting: the roles' command lines and secrets are derived from it. */
  settings: ClusterConfig;
  /** Docker build context (absolute). */
  contextDir: string;
  /** Where the files will live (absolute), to compute relative paths; undefined for stdout. */
  outDir?: string;
}
