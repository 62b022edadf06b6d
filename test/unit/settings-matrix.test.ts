import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { settingInputs } from '../../src/cli/setting-options.js';
import type { ClusterConfig } from '../../src/config/cluster-config.js';
import { SETTINGS } from '../../src/config/settings/registry.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import type { Setting } from '../../src/config/settings/types.js';
import { genOptionsFromConfig } from '../../src/gen/options.js';
import { renderTarget } from '../../src/gen/render.js';
import type { GeneratedFile } from '../../src/gen/types.js';
import { REPO_ROOT } from '../helpers/lb-gen-cases.js';

/**
 * Issue 14's matrix: every setting in the registry reaches the process or
 * file that uses it. gen's compose and Kubernetes output is parsed, each
 * role's command line is run through the real `mcp-scale gateway|worker`
 * option parser with the environment the file gives it (.env, the Secret),
 * and the settings that role resolves must equal what was asked for.
 * Settings only files or the supervisor read have their own check below; a
 * new setting without any check fails the last test.
 */
const SECRET = 'm'.repeat(40);
const everything = {
  port: 8443,
  path: '/m',
  maxBody: '1mb',
  allowedHost: ['a.example'],
  adminToken: 'admin-tok',
  clusterSecret: SECRET,
  maxInflight: 7,
  upstreamTimeout: '9s',
  drainTimeout: '33s',
  corsOrigin: ['https://x.example'],
  trustProxy: true,
  instances: 2,
  gateways: 3,
  redis: 'rediss://default:pw@redis.example:6380',
  prefix: 'p:',
  backendLatency: '5ms',
  sessions: 'stateless',
  sessionTtl: '2m',
  auth: 'apikey',
  apiKeys: '/run/secrets/keys',
  apiKeysSecret: 'team-keys',
  jwtSecret: 'jwt-secret-value',
  jwksUrl: 'https://idp.example/jwks',
  jwtIssuer: 'iss',
  jwtAudience: 'aud',
  resourceMetadata: 'https://r.example/m',
  rateLimit: '6/1m',
  block: '1m',
  ipRateLimit: '7/1m',
  toolLimit: { t: '1/1s' },
  toolCost: { t: 3 },
  limitsOnRedisFailure: 'closed',
  cacheTtl: { t: '1m' },
  cacheScope: { t: 'user' },
  cacheForce: ['t', 'u'],
  cacheTimeout: '70ms',
  server: 'examples/conformance-server.ts',
  serverName: 'mcp.example.com',
  nginxRateLimit: '10r/s',
  nginxBurst: 33,
  streamTimeout: '2h',
  image: 'registry.example/mcp:9',
  minReplicas: 3,
  maxReplicas: 9,
  cpuTarget: 55,
  maxSessionsPerWorker: 777,
  replayBuffer: '16mb',
  replayWindow: '2m',
  maxSessionsPerUser: 5,
  maxSessionState: '32kb',
  sessionCacheSize: 1234,
  maxListenStreamsPerUser: 4,
  otlpEndpoint: 'http://otel.example:4318',
  trustedProxies: ['10.0.0.0/8'],
  sseHeartbeat: '9s',
  streamLimitPerIp: 99,
  baseImage: 'node:24.11-slim',
  preStop: '7s',
  monitoringNamespace: 'obs',
  monitoringSelector: 'app=prom',
  gatewayApi: true,
  gatewayClass: 'eg',
};
/** What a balancer reaching workers directly cannot take (gateway-only), for the direct variant. */
const {
  corsOrigin: _c,
  maxInflight: _m,
  upstreamTimeout: _u,
  maxSessionsPerUser: _su,
  maxSessionState: _ss,
  sessionCacheSize: _sc,
  maxListenStreamsPerUser: _sl,
  sseHeartbeat: _hb,
  ...direct
} = { ...everything, affinity: 'ip' };

function generate(values: Record<string, unknown>, target: 'compose' | 'k8s' | 'all' | 'prometheus') {
  const config = resolveClusterConfig({ command: 'gen', configObject: values, env: {} });
  const files = renderTarget(
    target,
    genOptionsFromConfig(config, { contextDir: REPO_ROOT, outDir: path.join(REPO_ROOT, 'deploy') }),
  );
  return { config, files };
}

const file = (files: GeneratedFile[], name: string) => {
  const found = files.find((f) => f.path === name);
  if (!found) throw new Error(`no ${name}`);
  return found.content;
};

/** Runs argv through the real CLI parser of that role and resolves what the role would run with. */
async function resolveAsRole(argv: string[], env: Record<string, string>): Promise<ClusterConfig> {
  const [role, ...rest] = argv as ['gateway' | 'worker', ...string[]];
  const program = buildProgram();
  let parsed: object | undefined;
  program.commands
    .find((c) => c.name() === role)!
    .action((options: object) => {
      parsed = options;
    });
  await program.parseAsync(['node', 'mcp-scale', role, ...rest]);
  return resolveClusterConfig({ command: role, flags: settingInputs(parsed!, role), env });
}

function dotEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [
        line.slice(0, line.indexOf('=')),
        line.slice(line.indexOf('=') + 1).replace(/^'(.*)'$/, '$1'),
      ]),
  );
}

interface Seen {
  config: ClusterConfig;
  roles: Record<string, ClusterConfig>;
}
const seen: Record<string, Seen> = {};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-matrix-'));

beforeAll(async () => {
  for (const [name, values] of [
    ['gateway-tier', everything],
    ['direct', direct],
  ] as const) {
    // compose: the services' command and the .env they all read.
    const compose = generate(values, 'compose');
    const services = (
      YAML.parse(file(compose.files, 'compose.yaml')) as { services: Record<string, { command?: string[] }> }
    ).services;
    const env = dotEnv(file(compose.files, '.env'));
    const roles: Record<string, ClusterConfig> = {};
    for (const service of ['gateway-1', 'worker-1']) {
      const command = services[service]?.command;
      if (command) roles[`compose ${service}`] = await resolveAsRole(command, env);
    }
    // Kubernetes: container args, env from the Secret.
    const k8s = generate(values, 'k8s');
    const secret = YAML.parse(file(k8s.files, 'k8s/secret.yaml')) as { stringData: Record<string, string> };
    for (const tier of ['gateways', 'workers']) {
      const manifest = k8s.files.find((f) => f.path === `k8s/${tier}.yaml`);
      if (!manifest) continue;
      const container = (
        YAML.parseAllDocuments(manifest.content)[0]!.toJSON() as {
          spec: {
            template: {
              spec: {
                containers: {
                  args: string[];
                  env: { name: string; valueFrom?: { secretKeyRef: { key: string } } }[];
                }[];
              };
            };
          };
        }
      ).spec.template.spec.containers[0]!;
      const podEnv = Object.fromEntries(
        container.env
          .filter((e) => e.valueFrom?.secretKeyRef)
          .map((e) => [e.name, secret.stringData[e.valueFrom!.secretKeyRef.key]!]),
      );
      roles[`k8s ${tier}`] = await resolveAsRole(container.args, podEnv);
    }
    seen[name] = { config: compose.config, roles };
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The roles that must show a setting, per variant. */
function expectedRoles(s: Setting, variant: string): string[] {
  const gateway = s.roles.includes('gateway') && variant === 'gateway-tier';
  const worker = s.roles.includes('worker') || (variant === 'direct' && s.roles.includes('direct'));
  return [
    ...(gateway ? ['compose gateway-1', 'k8s gateways'] : []),
    ...(worker ? ['compose worker-1', 'k8s workers'] : []),
  ];
}

/** Set per deployment, not from the value: where the roles listen, which module they load. */
const PLACED_BY_GEN = new Set(['host', 'port', 'server']);

describe('every gateway and worker setting reaches the generated containers', () => {
  const roleSettings = SETTINGS.filter(
    (s) =>
      (s.roles.includes('gateway') || s.roles.includes('worker') || s.roles.includes('direct')) &&
      !PLACED_BY_GEN.has(s.name),
  );
  for (const variant of ['gateway-tier', 'direct']) {
    it.each(roleSettings.map((s) => [s.name, s] as const))(`${variant}: %s`, (_name, s) => {
      const { config, roles } = seen[variant]!;
      const wanted = expectedRoles(s, variant);
      if (variant === 'direct' && !(s.name in direct) && s.name !== 'directWorkers')
        return expect(s.roles).toContain('gateway');
      // Read by no container in this variant (e.g. drainTimeout without gateways): a file check covers it.
      if (wanted.length === 0) return expect(FILE_CHECKS[s.name]).toBeDefined();
      for (const role of wanted) {
        expect(roles[role], role).toBeDefined();
        let expected = s.get(config);
        if (s.name === 'trustProxy') expected = true; // behind the proxy, always
        if (s.name === 'directWorkers') expected = variant === 'direct'; // implied without gateways
        expect(s.get(roles[role]!), `${variant} ${role} ${s.name}`).toEqual(expected);
      }
    });
  }
});

/** Settings the files themselves (proxy, compose, Kubernetes) or the supervisor carry. */
const FILE_CHECKS: Record<string, (files: GeneratedFile[]) => void> = {
  host: (f) => expect(file(f, 'compose.yaml')).toContain('"--host", "0.0.0.0"'),
  port: (f) => expect(file(f, 'nginx.conf')).toMatch(/listen 8443/),
  server: (f) =>
    expect(file(f, 'compose.yaml')).toContain('"--server", "/app/examples/conformance-server.ts"'),
  instances: (f) => expect(file(f, 'compose.yaml')).toMatch(/worker-2:[\s\S]*(?!worker-3:)/),
  gateways: (f) => expect(file(f, 'compose.yaml')).toContain('gateway-3:'),
  // preStop 7s + drain 33s + 5s margin.
  drainTimeout: (f) => expect(file(f, 'k8s/workers.yaml')).toContain('terminationGracePeriodSeconds: 45'),
  preStop: (f) => expect(file(f, 'k8s/workers.yaml')).toContain('command: ["sleep", "7"]'),
  streamLimitPerIp: (f) => expect(file(f, 'nginx.conf')).toContain('limit_conn mcp_streams 99;'),
  baseImage: (f) => expect(file(f, 'Dockerfile')).toContain('FROM node:24.11-slim'),
  monitoringNamespace: (f) =>
    expect(file(f, 'k8s/network-policy.yaml')).toContain('"kubernetes.io/metadata.name":"obs"'),
  monitoringSelector: (f) =>
    expect(file(f, 'k8s/network-policy.yaml')).toContain('"podSelector":{"matchLabels":{"app":"prom"}}'),
  gatewayApi: (f) => expect(f.map((x) => x.path)).toEqual(expect.arrayContaining(['k8s/gateway-api.yaml'])),
  gatewayClass: (f) => expect(file(f, 'k8s/gateway-api.yaml')).toContain('gatewayClassName: "eg"'),
  maxBody: (f) => expect(file(f, 'nginx.conf')).toContain('client_max_body_size 1m;'),
  affinity: (f) => expect(file(f, 'haproxy.cfg')).toContain('balance source'),
  serverName: (f) => expect(file(f, 'nginx.conf')).toContain('server_name mcp.example.com;'),
  nginxRateLimit: (f) => expect(file(f, 'nginx.conf')).toContain('rate=10r/s'),
  nginxBurst: (f) => expect(file(f, 'nginx.conf')).toContain('burst=33'),
  streamTimeout: (f) => expect(file(f, 'nginx.conf')).toContain('proxy_read_timeout 7200s;'),
  image: (f) => expect(file(f, 'compose.yaml')).toContain('image: "registry.example/mcp:9"'),
  minReplicas: (f) => expect(file(f, 'k8s/hpa.yaml')).toContain('minReplicas: 3'),
  maxReplicas: (f) => expect(file(f, 'k8s/hpa.yaml')).toContain('maxReplicas: 9'),
  cpuTarget: (f) => expect(file(f, 'k8s/hpa.yaml')).toContain('averageUtilization: 55'),
  tlsCert: (f) => expect(file(f, 'nginx.conf')).toContain('ssl_certificate /etc/tls/mcp.pem;'),
  tlsKey: (f) => expect(file(f, 'nginx.conf')).toContain('ssl_certificate_key /etc/tls/mcp.key;'),
  upstream: (f) => expect(file(f, 'nginx.conf')).toContain('10.0.0.5:3000'),
  discovery: (f) => expect(file(f, 'prometheus.yml')).toContain('kubernetes_sd_configs:'),
  gatewayTarget: (f) => expect(file(f, 'prometheus.yml')).toContain('- gw.example:8080'),
  workerTarget: (f) => expect(file(f, 'prometheus.yml')).toContain('- wk.example:3000'),
  scrapeInterval: (f) => expect(file(f, 'prometheus.yml')).toContain('scrape_interval: 7s'),
  metricsTokenFile: (f) => expect(file(f, 'prometheus.yml')).toContain('credentials_file: /etc/prom/token'),
  alertFor: (f) => expect(file(f, 'mcp-scale-alerts.yml')).toContain('for: 45s'),
  alertRateLimitedRatio: (f) => expect(file(f, 'mcp-scale-alerts.yml')).toMatch(/> 0\.07 and/),
  alertLatency: (f) => expect(file(f, 'mcp-scale-alerts.yml')).toMatch(/_bucket\{[^}]*\}\[5m\]\)\)\) > 3\n/),
  alertRehomeRate: (f) =>
    expect(file(f, 'mcp-scale-alerts.yml')).toMatch(/session_rehomes_total\[5m\]\)\) > 4\n/),
  alertSessionsCap: (f) =>
    expect(file(f, 'mcp-scale-alerts.yml')).toContain('mcp_scale_worker_sessions > 1800'),
  apiKeysSecret: (f) => {
    expect(file(f, 'compose.yaml')).toContain('file: "./team-keys"');
    expect(file(f, 'k8s/workers.yaml')).toContain('secretName: team-keys');
  },
};
/** gen prometheus's settings, each with a value its file shows. */
const MONITORING: Record<string, unknown> = {
  discovery: 'static',
  gatewayTarget: ['gw.example:8080'],
  workerTarget: ['wk.example:3000'],
  scrapeInterval: '7s',
  metricsTokenFile: '/etc/prom/token',
  alertFor: '45s',
  alertRateLimitedRatio: 0.07,
  alertLatency: '3s',
  alertRehomeRate: 4,
  alertSessionsCap: 2000,
};
/** serve-only settings: proved with real processes in these test files. */
const SERVE_ONLY: Record<string, string> = {
  lb: 'test/e2e/lb-affinity.test.ts',
  maxRestarts: 'test/e2e/prometheus-monitoring.test.ts',
  serverCmd: 'test/e2e/server-everything.test.ts',
};

describe('settings read by files or the supervisor', () => {
  it.each(Object.keys(FILE_CHECKS))('%s', (name) => {
    // The direct variant: a worker-tier proxy (affinity ip), HPA, TLS-less.
    const { files } = generate({ ...direct, upstream: undefined }, 'all');
    if (name === 'tlsCert' || name === 'tlsKey') {
      const tls = { ...direct, tlsCert: '/etc/tls/mcp.pem', tlsKey: '/etc/tls/mcp.key' };
      return FILE_CHECKS[name]!(generate(tls, 'compose').files);
    }
    if (name === 'upstream') {
      const config = resolveClusterConfig({
        command: 'gen',
        configObject: { ...direct, upstream: ['w1=10.0.0.5:3000'] },
        env: {},
      });
      const options = genOptionsFromConfig(config, { contextDir: REPO_ROOT });
      return FILE_CHECKS[name]!(renderTarget('nginx', options));
    }
    if (name === 'gateways') return FILE_CHECKS[name]!(generate(everything, 'compose').files);
    // The monitoring peer is a rule of the workers' policy when gateways front them.
    if (name === 'monitoringNamespace' || name === 'monitoringSelector')
      return FILE_CHECKS[name]!(generate(everything, 'k8s').files);
    if (name in MONITORING) {
      // Static targets and Kubernetes discovery exclude each other: discovery gets its own file.
      const values = name === 'discovery' ? { discovery: 'kubernetes' } : MONITORING;
      return FILE_CHECKS[name]!(generate({ ...direct, ...values }, 'prometheus').files);
    }
    FILE_CHECKS[name]!(files);
  });

  it.each(Object.entries(SERVE_ONLY))('%s runs for real in %s', (name, testFile) => {
    const flag = `--${SETTINGS.find((s) => s.name === name)!.flag}`;
    expect(fs.readFileSync(path.join(REPO_ROOT, testFile), 'utf8')).toContain(`'${flag}'`);
  });

  it('no setting is left without a check', () => {
    const covered = (s: Setting) =>
      FILE_CHECKS[s.name] !== undefined ||
      SERVE_ONLY[s.name] !== undefined ||
      (!PLACED_BY_GEN.has(s.name) &&
        (s.roles.includes('gateway') || s.roles.includes('worker') || s.roles.includes('direct')));
    expect(SETTINGS.filter((s) => !covered(s)).map((s) => s.name)).toEqual([]);
  });
});
