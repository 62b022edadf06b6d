import { duration, flagSwitch, integer, list, size, text } from './codecs.js';
import { ProxyTrust } from '../../http/client-address.js';
import { setting, type Codec } from './types.js';

/** Addresses or CIDR ranges, each checked (a bad one is named). */
const cidrList: Codec<string[]> = (() => {
  const base = list('cidr');
  return {
    ...base,
    form: 'IP addresses or CIDR ranges (comma-separated, or an array in a file), e.g. 10.0.0.0/8',
    parse(input: unknown): string[] {
      const values = base.parse(input).filter(Boolean);
      try {
        new ProxyTrust(values);
      } catch (error) {
        throw new Error((error as Error).message.replace(/^--trusted-proxies: /, ''));
      }
      return values;
    },
  };
})();

/** Where roles listen, what they accept, and the shared secrets. */
export const NETWORK_SETTINGS = [
  setting({
    name: 'host',
    codec: text('host', 'a host name or IP address'),
    default: '127.0.0.1',
    defaults: { gen: '0.0.0.0' },
    roles: ['gateway', 'worker', 'supervisor'],
    help: 'address to bind (serve: the entry point; gen: the containers)',
    get: (c) => c.host,
    set: (c, v) => (c.host = v),
  }),
  setting({
    name: 'port',
    codec: integer('port', 0, 65535),
    default: 8080,
    defaults: { worker: 0 },
    roles: ['gateway', 'worker', 'supervisor', 'gen'],
    help: 'port to listen on (0: a free one; gen: the public port of the proxy)',
    get: (c) => c.port,
    set: (c, v) => (c.port = v),
  }),
  setting({
    name: 'path',
    codec: text('path', 'a URL path starting with /'),
    default: '/mcp',
    roles: ['gateway', 'worker', 'lb'],
    help: 'MCP endpoint path',
    get: (c) => c.path,
    set: (c, v) => (c.path = v),
  }),
  setting({
    name: 'maxBody',
    codec: size,
    default: 4 * 1024 * 1024,
    roles: ['gateway', 'worker', 'lb'],
    help: 'largest request body; larger gets 413 (the proxy enforces the same)',
    get: (c) => c.maxBodyBytes,
    set: (c, v) => (c.maxBodyBytes = v),
  }),
  setting({
    name: 'allowedHost',
    codec: list('host'),
    default: [],
    roles: ['gateway', 'worker'],
    help: 'extra Host/Origin name accepted on a loopback bind (repeatable)',
    get: (c) => c.allowedHosts,
    set: (c, v) => (c.allowedHosts = v),
  }),
  setting({
    name: 'adminToken',
    codec: text('token'),
    default: undefined,
    roles: ['gateway', 'worker'],
    secret: true,
    help: 'require this Bearer token for /metrics and /_mcp-scale/* (default: loopback only)',
    get: (c) => c.adminToken,
    set: (c, v) => (c.adminToken = v),
  }),
  setting({
    name: 'clusterSecret',
    codec: text('secret', 'a secret of at least 32 bytes'),
    default: undefined,
    roles: ['gateway', 'worker'],
    secret: true,
    help: 'shared secret (>= 32 bytes) signing identities and 2026 request state; the same on every gateway and worker',
    get: (c) => c.clusterSecret,
    set: (c, v) => (c.clusterSecret = v),
  }),
  setting({
    name: 'maxInflight',
    codec: integer('n', 1, 1_000_000),
    default: 128,
    roles: ['gateway'],
    help: 'concurrent requests per worker before 503 + Retry-After',
    get: (c) => c.maxInflight,
    set: (c, v) => (c.maxInflight = v),
  }),
  setting({
    name: 'upstreamTimeout',
    codec: duration,
    default: 300_000,
    roles: ['gateway'],
    help: 'wait this long for a worker to start answering',
    get: (c) => c.upstreamTimeoutMs,
    set: (c, v) => (c.upstreamTimeoutMs = v),
  }),
  setting({
    name: 'drainTimeout',
    codec: duration,
    default: 10_000,
    roles: ['gateway', 'worker', 'supervisor', 'gen'],
    help: 'on SIGINT/SIGTERM, let running requests finish for this long; a worker drains first (readiness false, registry says draining, GET streams end) (gen: part of the pod grace period)',
    get: (c) => c.drainTimeoutMs,
    set: (c, v) => (c.drainTimeoutMs = v),
  }),
  setting({
    name: 'corsOrigin',
    codec: list('origin'),
    default: [],
    roles: ['gateway'],
    help: 'allow browser clients from this origin (repeatable; * for any)',
    get: (c) => c.corsOrigins,
    set: (c, v) => (c.corsOrigins = v),
  }),
  setting({
    name: 'trustProxy',
    codec: flagSwitch,
    default: false,
    roles: ['gateway', 'direct'],
    help: 'take the client address from X-Forwarded-For sent by loopback/private-range peers (the rightmost untrusted hop)',
    get: (c) => c.auth.trustProxy,
    set: (c, v) => (c.auth.trustProxy = v),
  }),
  setting({
    name: 'trustedProxies',
    codec: cidrList,
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'trust X-Forwarded-For only from these addresses/CIDR ranges (narrows --trust-proxy, implies it)',
    get: (c) => c.auth.trustedProxies,
    set: (c, v) => (c.auth.trustedProxies = v),
  }),
  setting({
    name: 'sseHeartbeat',
    codec: duration,
    default: 15_000,
    roles: ['gateway'],
    help: 'send an SSE comment line on streams quiet this long, for idle-timeout proxies (0 = off)',
    get: (c) => c.sseHeartbeatMs,
    set: (c, v) => (c.sseHeartbeatMs = v),
  }),
];
