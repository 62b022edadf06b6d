import path from 'node:path';
import type { ClusterConfig } from '../config/cluster-config.js';
import { resolveClusterConfig } from '../config/settings/resolve.js';
import { refuseUnhonoured } from '../config/settings/topology-rules.js';
import type { SettingInputs } from '../config/settings/types.js';
import { parseRate, ratePerSecond } from '../config/rate.js';
import { UserError } from '../errors.js';
import { WORKER_ID_PATTERN } from '../protocol/headers.js';
import { NODE_IMAGE, NODE_IMAGE_PATTERN } from './images.js';
import { DEFAULT_STREAMS_PER_IP } from './proxy-model.js';
import { resolveGenSecrets, type GenSecrets } from './secrets.js';
import { monitoringOptions } from './monitoring/monitoring-options.js';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
import type { GenOptions, ProxyRateLimit, UpstreamAddress } from './types.js';

const DEFAULT_STREAM_TIMEOUT_MS = 3_600_000;
const DEFAULT_IMAGE = 'mcp-scale:local';

/** Values that end up inside nginx/HAProxy/YAML: no whitespace, quotes, `;`, `{`, `}` or `#`. */
const SAFE_TOKEN = /^[^\s"'`;{}#$\\]+$/;

export interface GenSettingsRequest {
  /** Setting values from the command line, by name. */
  flags?: SettingInputs;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Docker build context (default: the current folder). */
  context?: string;
  /** Output folder; '-' or undefined: stdout. */
  out?: string;
  /** `--cluster-secret-file`: the cluster secret is this file's content. */
  clusterSecretFile?: string;
  /** `--rotate-secret`: new secrets instead of those already in `out`. */
  rotateSecret?: boolean;
}

/**
 * Resolves `gen` options: the cluster settings with gen's defaults (0.0.0.0,
 * two gateways; defaults < --config < env < flags) plus where files go.
 */
export function resolveGenOptions(request: GenSettingsRequest = {}): GenOptions {
  const config = resolveClusterConfig({
    command: 'gen',
    flags: request.flags,
    configFile: request.configFile,
    env: request.env,
  });
  const out = request.out !== undefined && request.out !== '-' ? path.resolve(request.out) : undefined;
  return genOptionsFromConfig(config, {
    contextDir: path.resolve(request.context ?? process.cwd()),
    outDir: out,
    secrets: genSecretsFor(config, out, request),
  });
}

/**
 * The secrets gen writes: kept from the output folder, read from
 * --cluster-secret-file, given, or new (see secrets.ts).
 */
export function genSecretsFor(
  config: ClusterConfig,
  outDir: string | undefined,
  request: Pick<GenSettingsRequest, 'clusterSecretFile' | 'rotateSecret'>,
): GenSecrets {
  return resolveGenSecrets({
    explicit: config.clusterSecret,
    file: request.clusterSecretFile,
    outDir,
    rotate: request.rotateSecret === true,
    deployRedis: config.redis === 'auto',
    deployHa: config.redis === 'ha',
  });
}

export function genOptionsFromConfig(
  config: ClusterConfig,
  where: { contextDir: string; outDir?: string; secrets?: GenSecrets },
): GenOptions {
  refuseUnhonoured(config, {
    label: `gen with --affinity ${config.affinity}`,
    command: 'gen',
    direct: config.affinity !== 'gateway',
    commandWorkers: false,
  });
  const secrets = where.secrets ?? genSecretsFor(config, undefined, {});
  const gen = config.gen ?? {};
  if ((gen.tlsCert === undefined) !== (gen.tlsKey === undefined)) {
    throw new UserError('--tls-cert and --tls-key go together');
  }
  const options: GenOptions = {
    port: config.port,
    path: config.path,
    instances: config.instances,
    gateways: config.gateways,
    affinity: config.affinity,
    sessions: config.sessions,
    sessionTtlMs: config.sessionTtlMs,
    redis: config.redis,
    maxBodyBytes: config.maxBodyBytes,
    streamTimeoutMs: gen.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS,
    drainTimeoutMs: config.drainTimeoutMs,
    streamsPerIp: gen.streamLimitPerIp ?? DEFAULT_STREAMS_PER_IP,
    serverName: gen.serverName ?? '_',
    tls: gen.tlsCert && gen.tlsKey ? { cert: gen.tlsCert, key: gen.tlsKey } : undefined,
    rateLimit: gen.nginxRateLimit ? parseProxyRateLimit(gen.nginxRateLimit, gen.nginxBurst) : undefined,
    upstreams: gen.upstream?.length ? gen.upstream.map(parseUpstream) : undefined,
    image: gen.image ?? DEFAULT_IMAGE,
    baseImage: gen.baseImage ?? NODE_IMAGE,
    server: config.server,
    preStopMs: gen.preStopMs ?? 5000,
    monitoringNamespace: gen.monitoringNamespace ?? 'monitoring',
    monitoringSelector: parseSelector(gen.monitoringSelector ?? ''),
    gatewayApi: gen.gatewayApi ?? false,
    gatewayClass: gen.gatewayClass ?? 'default',
    minReplicas: gen.minReplicas ?? config.instances,
    maxReplicas: gen.maxReplicas ?? Math.max(10, gen.minReplicas ?? config.instances),
    cpuTargetPercent: gen.cpuTarget ?? 70,
    clusterSecret: secrets.clusterSecret,
    redisPassword: config.redis === 'auto' ? secrets.redisPassword : undefined,
    secretSource: secrets.source,
    monitoring: monitoringOptions(config),
    redisHa: secrets.redisHa,
    settings: config,
    contextDir: where.contextDir,
    outDir: where.outDir,
  };
  validateGenOptions(options);
  return options;
}

export function validateGenOptions(options: GenOptions): void {
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new UserError(`--port must be from 1 to 65535, got ${options.port}`);
  }
  if (!Number.isInteger(options.gateways) || options.gateways < 1 || options.gateways > 16) {
    throw new UserError(`--gateways must be from 1 to 16, got ${options.gateways}`);
  }
  if (!Number.isInteger(options.maxBodyBytes) || options.maxBodyBytes < 1024) {
    throw new UserError(`--max-body must be at least 1kb, got ${options.maxBodyBytes}`);
  }
  const { minReplicas, maxReplicas, cpuTargetPercent } = options;
  if (!Number.isInteger(minReplicas) || minReplicas < 1) {
    throw new UserError(`--min-replicas must be a whole number >= 1, got ${minReplicas}`);
  }
  if (!Number.isInteger(maxReplicas) || maxReplicas < minReplicas) {
    throw new UserError(`--max-replicas must be a whole number >= --min-replicas (${minReplicas})`);
  }
  if (!Number.isInteger(cpuTargetPercent) || cpuTargetPercent < 1 || cpuTargetPercent > 100) {
    throw new UserError(`--cpu-target must be a percentage from 1 to 100, got ${cpuTargetPercent}`);
  }
  if (!DNS_LABEL.test(options.monitoringNamespace)) {
    throw new UserError(
      `--monitoring-namespace must be a namespace name, got '${options.monitoringNamespace}'`,
    );
  }
  if (!DNS_LABEL.test(options.gatewayClass)) {
    throw new UserError(`--gateway-class must be a GatewayClass name, got '${options.gatewayClass}'`);
  }
  if (options.preStopMs < 0 || options.preStopMs > 120_000) {
    throw new UserError('--pre-stop must be from 0s to 2m');
  }
  if (!NODE_IMAGE_PATTERN.test(options.baseImage)) {
    throw new UserError(
      `--base-image must be node:<tag> or node:<tag>@sha256:<digest>, got '${options.baseImage}'`,
    );
  }
  if (!Number.isInteger(options.streamsPerIp) || options.streamsPerIp < 0) {
    throw new UserError(`--stream-limit-per-ip must be a whole number >= 0, got ${options.streamsPerIp}`);
  }
  if (options.streamTimeoutMs < 1000) throw new UserError('--stream-timeout must be at least 1s');
  if (options.serverName !== '_' && !/^[A-Za-z0-9.*-]+(?: [A-Za-z0-9.*-]+)*$/.test(options.serverName)) {
    throw new UserError(`--server-name must be host names separated by spaces, got '${options.serverName}'`);
  }
  for (const [flag, value] of [
    ['--tls-cert', options.tls?.cert],
    ['--tls-key', options.tls?.key],
    ['--image', options.image],
    ['--server', options.server],
    ['--path', options.path],
  ] as const) {
    if (value !== undefined && !SAFE_TOKEN.test(value)) {
      throw new UserError(`${flag} must not contain spaces, quotes or any of ; { } # $ \\, got '${value}'`);
    }
  }
  if (
    options.redis !== 'auto' &&
    options.redis !== 'ha' &&
    options.redis !== 'memory' &&
    !/^rediss?(?:-cluster|-sentinel)?:\/\/[^\s'"$]+$/.test(options.redis)
  ) {
    throw new UserError(
      `gen needs --redis auto, ha, or a redis:// or rediss:// URL (redis-cluster:// for a Redis Cluster, redis-sentinel:// for Sentinel), got '${redactRedisUrl(options.redis)}'`,
    );
  }
  // The same parser as the roles': a URL they would refuse is refused here, at generation time.
  if (options.redis.includes('://')) parseRedisUrl(options.redis);
  if (options.redis === 'memory') {
    throw new UserError('gen renders multi-node deployments: --redis memory cannot be shared between nodes');
  }
  const ids = new Set<string>();
  for (const upstream of options.upstreams ?? []) {
    if (ids.has(upstream.id)) throw new UserError(`--upstream id '${upstream.id}' is used twice`);
    ids.add(upstream.id);
  }
}

/** `[ID=]HOST:PORT`; ids default to u1, u2, … in order. */
export function parseUpstream(text: string, index: number): UpstreamAddress {
  const match = /^(?:([^=]+)=)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    throw new UserError(`invalid --upstream '${text}': use [ID=]HOST:PORT, e.g. w1=10.0.0.5:3000`);
  }
  const id = match[1] ?? `u${index + 1}`;
  if (!WORKER_ID_PATTERN.test(id)) {
    throw new UserError(`invalid --upstream id '${id}': use letters, digits, _ and - (at most 64)`);
  }
  return { id, host: match[2] ?? '', port };
}

/** `10r/s`, `600r/m` (nginx syntax) or `10/1s`, `600/1m` (the project's rate syntax). */
export function parseProxyRateLimit(text: string, burst = 20): ProxyRateLimit {
  const nginxStyle = /^(\d+)r\/(s|m)$/.exec(text.trim());
  let perSecond: number;
  if (nginxStyle) {
    perSecond = Number(nginxStyle[1]) / (nginxStyle[2] === 's' ? 1 : 60);
  } else {
    try {
      perSecond = ratePerSecond(parseRate(text, '--nginx-rate-limit'));
    } catch {
      throw new UserError(`invalid --nginx-rate-limit '${text}': use e.g. 10r/s, 600r/m or 10/1s`);
    }
  }
  if (!(perSecond > 0)) throw new UserError(`invalid --nginx-rate-limit '${text}': use e.g. 10r/s or 600r/m`);
  if (!Number.isInteger(burst) || burst < 0) {
    throw new UserError(`--nginx-burst must be a whole number >= 0, got ${burst}`);
  }
  // nginx only knows r/s and r/m: keep whole numbers, rounding a fraction per minute up.
  const nginxRate = Number.isInteger(perSecond) ? `${perSecond}r/s` : `${Math.ceil(perSecond * 60)}r/m`;
  return { nginxRate, perSecond, burst };
}

/** `1h` → seconds, for configs that take whole seconds. */
export function wholeSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `k=v,k2=v2` → labels; empty → {}. */
export function parseSelector(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key = '', value = '', extra] = part.split('=');
    if (extra !== undefined || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value) || value.length > 63) {
      throw new UserError(
        `--monitoring-selector: '${part}' is not a label key=value (e.g. app.kubernetes.io/name=prometheus)`,
      );
    }
    labels[key] = value;
  }
  return labels;
}
