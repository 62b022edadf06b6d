import { duration, flagSwitch, integer, oneOf, text } from './codecs.js';
import { redactRedisUrl } from '../../redis/redact.js';
import { setting } from './types.js';

/** A Redis URL with credentials is a secret: it travels by environment, never argv. */
export function redisUrlHasCredentials(url: string): boolean {
  return /^[a-z-]+:\/\/[^/]*@/i.test(url) || /[?&]sentinelPassword=/.test(url);
}

/** What runs: how many of each role, where state lives, which server. */
export const TOPOLOGY_SETTINGS = [
  setting({
    name: 'instances',
    codec: integer('n', 1, 64),
    default: 3,
    roles: ['supervisor', 'gen'],
    help: 'number of workers (gen on Kubernetes: the HPA minimum unless --min-replicas)',
    get: (c) => c.instances,
    set: (c, v) => (c.instances = v),
  }),
  setting({
    name: 'gateways',
    codec: integer('n', 1, 16),
    default: 1,
    defaults: { gen: 2 },
    roles: ['supervisor', 'gen'],
    help: 'number of gateways (serve: sharing the port through Node cluster, or behind --lb)',
    get: (c) => c.gateways,
    set: (c, v) => (c.gateways = v),
  }),
  setting({
    name: 'redis',
    env: 'MCP_SCALE_REDIS_URL',
    codec: text(
      'url',
      'auto, memory, ha, or a redis://, rediss://, redis-cluster://h:p,h:p or redis-sentinel://h:p,h:p/<master> URL',
    ),
    default: 'auto',
    roles: ['gateway', 'worker', 'supervisor', 'gen'],
    secret: (v) => redisUrlHasCredentials(v),
    redact: redactRedisUrl,
    help: 'Redis: auto (serve: REDIS_URL or a private redis-server; gen: deploy one) | memory | ha (serve, gen: a primary, a replica and 3 sentinels) | a URL: redis://, rediss://, redis-cluster://h:p,h:p, redis-sentinel://[:pass@]h:p,h:p/<master>[?sentinelPassword=…]',
    get: (c) => c.redis,
    set: (c, v) => (c.redis = v),
  }),
  setting({
    name: 'prefix',
    codec: text('prefix'),
    default: 'mcp-scale:',
    roles: ['gateway', 'worker'],
    help: 'prefix of every Redis key and channel',
    get: (c) => c.prefix,
    set: (c, v) => (c.prefix = v),
  }),
  setting({
    name: 'server',
    codec: text('module', 'the path of a module exporting an McpServer factory'),
    default: undefined,
    roles: ['worker', 'gen'],
    help: 'module exporting an McpServer factory (SDK 1.x or v2); default: the demo shop',
    get: (c) => c.server,
    set: (c, v) => (c.server = v),
  }),
  setting({
    name: 'serverCmd',
    codec: text('command'),
    default: undefined,
    roles: ['supervisor'],
    help: 'any command serving Streamable HTTP on {port} / $PORT, run as each worker',
    get: (c) => c.serverCmd,
    set: (c, v) => (c.serverCmd = v),
  }),
  setting({
    name: 'backendLatency',
    codec: duration,
    default: 20,
    roles: ['worker'],
    help: "demo server's simulated backend latency",
    get: (c) => c.backendLatencyMs,
    set: (c, v) => (c.backendLatencyMs = v),
  }),
  setting({
    name: 'directWorkers',
    codec: flagSwitch,
    default: false,
    roles: ['worker'],
    help: 'workers serve requests no gateway signed (clients reach them directly); implied by serve --lb and gen with --affinity session|ip|none',
    get: (c) => c.directWorkers,
    set: (c, v) => (c.directWorkers = v),
  }),
  setting({
    name: 'sessions',
    codec: oneOf(['stateful', 'stateless'] as const),
    default: 'stateful',
    roles: ['worker', 'lb', 'gen'],
    help: '2025-era serving: stateful sessions or stateless',
    get: (c) => c.sessions,
    set: (c, v) => (c.sessions = v),
  }),
  setting({
    name: 'sessionTtl',
    codec: duration,
    default: 3_600_000,
    roles: ['gateway', 'worker'],
    help: 'idle lifetime of a 2025 session',
    get: (c) => c.sessionTtlMs,
    set: (c, v) => (c.sessionTtlMs = v),
  }),
  setting({
    name: 'lb',
    codec: oneOf(['nginx', 'haproxy'] as const),
    default: undefined,
    roles: ['supervisor'],
    help: 'run a real load balancer in front (the config gen renders)',
    get: (c) => c.lb,
    set: (c, v) => (c.lb = v),
  }),
  setting({
    name: 'affinity',
    codec: oneOf(['gateway', 'session', 'ip', 'none'] as const),
    default: 'gateway',
    roles: ['supervisor', 'lb', 'gen'],
    help: 'how the load balancer keeps sessions: gateway (through gateways), or workers directly by session, ip or none',
    get: (c) => c.affinity,
    set: (c, v) => (c.affinity = v),
  }),
];
