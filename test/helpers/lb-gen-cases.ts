import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClusterConfig, type ClusterConfig } from '../../src/config/cluster-config.js';
import { genOptionsFromConfig } from '../../src/gen/options.js';
import type { GenOptions, GenTarget } from '../../src/gen/types.js';

/** The repository root: the Docker build context of the source-flavour Dockerfile. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** A fixed secret so golden files do not change from run to run. */
export const FIXED_SECRET = 'golden-secret-0123456789abcdef-0123456789abcdef';
export const FIXED_REDIS_PASSWORD = 'golden-redis-password-0123456789';

export interface GenCase {
  name: string;
  target: GenTarget;
  options: GenOptions;
}

/** Option sets shared by the golden tests and the real-binary checks. */
export function genCases(): GenCase[] {
  const make = (settings: Partial<ClusterConfig>): GenOptions =>
    genOptionsFromConfig(
      { ...defaultClusterConfig('gen'), clusterSecret: FIXED_SECRET, ...settings },
      {
        contextDir: REPO_ROOT,
        outDir: path.join(REPO_ROOT, 'deploy'),
        secrets: { clusterSecret: FIXED_SECRET, redisPassword: FIXED_REDIS_PASSWORD, source: 'flag' },
      },
    );
  return [
    // Defaults: gateways behind nginx, Redis deployed, 3 workers, gen's 2 gateways.
    { name: 'gateway-defaults', target: 'all', options: make({}) },
    // Workers directly, session-prefix routing, TLS, a proxy rate limit, a larger body limit.
    {
      name: 'session-tls',
      target: 'all',
      options: make({
        affinity: 'session',
        instances: 2,
        port: 8443,
        maxBodyBytes: 8 * 1024 * 1024,
        gen: {
          serverName: 'mcp.example.com',
          tlsCert: '/etc/mcp-scale/tls/server.pem',
          tlsKey: '/etc/mcp-scale/tls/server.key',
          nginxRateLimit: '10r/s',
          nginxBurst: 40,
        },
      }),
    },
    // Client-IP affinity, a managed Redis, HPA bounds, two gateways ignored (no gateway tier).
    {
      name: 'ip-managed-redis',
      target: 'all',
      options: make({
        affinity: 'ip',
        instances: 4,
        redis: 'rediss://default:pw@redis.example.com:6380',
        gen: {
          image: 'registry.example.com/mcp-scale:1.2.3',
          minReplicas: 3,
          maxReplicas: 12,
          cpuTarget: 60,
        },
      }),
    },
    // Explicit backends for a host install, gateway tier, longer streams.
    {
      name: 'upstreams-nginx',
      target: 'nginx',
      options: make({
        gateways: 2,
        gen: { upstream: ['g1=10.0.0.5:8080', 'g2=10.0.0.6:8080'], streamTimeoutMs: 7_200_000 },
      }),
    },
    {
      name: 'upstreams-haproxy-session',
      target: 'haproxy',
      options: make({
        affinity: 'session',
        gen: { upstream: ['w1=10.0.0.5:3000', 'w2=10.0.0.6:3000', 'w3=10.0.0.7:3000'] },
      }),
    },
    { name: 'none-stateless-k8s', target: 'k8s', options: make({ affinity: 'none', sessions: 'stateless' }) },
    // Gateway API instead of the Ingress, TLS, a narrowed monitoring peer, a longer preStop and drain.
    {
      name: 'gateway-api-k8s',
      target: 'k8s',
      options: make({
        gateways: 3,
        drainTimeoutMs: 30_000,
        gen: {
          gatewayApi: true,
          gatewayClass: 'eg',
          serverName: 'mcp.example.com',
          tlsCert: '/etc/mcp-scale/tls/server.pem',
          tlsKey: '/etc/mcp-scale/tls/server.key',
          preStopMs: 10_000,
          monitoringNamespace: 'observability',
          monitoringSelector: 'app.kubernetes.io/name=prometheus',
        },
      }),
    },
    // Sentinel-managed Redis deployed with the cluster: primary, replica, three sentinels; two gateways.
    {
      name: 'redis-ha',
      target: 'all',
      options: {
        ...make({ redis: 'ha', gateways: 2 }),
        redisHa: {
          password: 'golden-redis-password-0123456789',
          sentinelPassword: 'golden-sentinel-password-0123',
        },
      },
    },
    // A managed Sentinel deployment named by URL: nothing Redis is deployed.
    {
      name: 'managed-sentinel-k8s',
      target: 'k8s',
      options: make({
        redis: 'redis-sentinel://:pw@10.0.0.5:26379,10.0.0.6:26379/mymaster?sentinelPassword=spw',
      }),
    },
  ];
}
