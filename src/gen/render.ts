import path from 'node:path';
import { UserError } from '../errors.js';
import {
  composeChoices,
  dockerChoices,
  haproxyChoices,
  k8sChoices,
  nginxChoices,
  type K8sFile,
} from './choices.js';
import { apiKeysMount, PLACEHOLDER_CONTENT, PLACEHOLDER_FILE } from './auth-files.js';
import { DEFAULT_BENCH_ARGS, renderBenchJob, type BenchJobInput } from './bench-job.js';
import { dockerContext } from './docker-context.js';
import { NGINX_IMAGE, REDIS_IMAGE, REDIS_UID } from './images.js';
import { wholeSeconds } from './options.js';
import { GATEWAY_PORT, PROXY_FAILOVER, WORKER_PORT, proxyModelFromOptions } from './proxy-model.js';
import { gatewayCommand, workerCommand, yamlList, type RoleCommand } from './role-args.js';
import { renderTemplate } from './templates.js';
import { alertRulesFile } from './monitoring/alert-rules.js';
import { grafanaDashboard } from './monitoring/grafana-dashboard.js';
import { prometheusConfig, RULES_FILE } from './monitoring/prometheus-config.js';
import { HA_MASTER_NAME } from '../redis/local-ha.js';
import type { GenOptions, GenTarget, GeneratedFile } from './types.js';

/**
 * Renders one `gen` target to files (nothing is written here). `all` is
 * every target in one folder plus a README.
 */
export function renderTarget(
  target: GenTarget,
  options: GenOptions,
  bench: BenchJobInput = { pods: 3, benchArgs: DEFAULT_BENCH_ARGS },
): GeneratedFile[] {
  switch (target) {
    case 'nginx':
      return [renderNginx(options)];
    case 'haproxy':
      return [renderHaproxy(options)];
    case 'docker':
      return renderDocker(options);
    case 'compose':
      return renderCompose(options);
    case 'k8s':
      return renderK8s(options);
    case 'prometheus':
      return renderPrometheus(options);
    case 'grafana':
      return [{ path: 'grafana-dashboard.json', kind: 'grafana', content: grafanaDashboard() }];
    case 'bench':
      return [renderBenchJob(options, bench)];
    case 'all':
      return renderAll(options);
  }
}

function renderPrometheus(options: GenOptions): GeneratedFile[] {
  const m = options.monitoring;
  const header = [
    'mcp-scale gen prometheus: scrape config for gateways and workers, with the alert rules next to it.',
    m.discovery === 'static'
      ? `Targets: gateways ${m.gatewayTargets.join(', ')}; workers ${m.workerTargets.join(', ')}.`
      : 'Targets: Kubernetes pods labelled app.kubernetes.io/name=mcp-scale (component gateway|worker), port "http".',
    m.metricsTokenFile
      ? `/metrics is read with the admin token in ${m.metricsTokenFile}.`
      : '/metrics answers loopback clients only unless the admin token is sent: see --metrics-token-file.',
  ];
  return [
    { path: 'prometheus.yml', kind: 'prometheus', content: prometheusConfig(m, header) },
    {
      path: RULES_FILE,
      kind: 'prometheus-rules',
      content: alertRulesFile(m, ['mcp-scale gen prometheus: alert rules, each with its runbook.']),
    },
  ];
}

export function renderNginx(options: GenOptions): GeneratedFile {
  const model = proxyModelFromOptions(options, []);
  model.header = nginxChoices(model);
  return { path: 'nginx.conf', kind: 'nginx', content: renderTemplate('nginx/nginx.conf.ejs', { m: model }) };
}

export function renderHaproxy(options: GenOptions): GeneratedFile {
  const model = proxyModelFromOptions(options, []);
  model.header = haproxyChoices(model);
  return {
    path: 'haproxy.cfg',
    kind: 'haproxy',
    content: renderTemplate('haproxy/haproxy.cfg.ejs', { m: model }),
  };
}

function renderDocker(options: GenOptions): GeneratedFile[] {
  const d = dockerContext(options);
  return [
    {
      path: 'Dockerfile',
      kind: 'dockerfile',
      content: renderTemplate('docker/Dockerfile.ejs', { d, header: dockerChoices(options) }),
    },
    {
      path: 'Dockerfile.dockerignore',
      kind: 'dockerignore',
      content: renderTemplate('docker/Dockerfile.dockerignore.ejs', { d }),
    },
  ];
}

/** Where the generated files are, for paths relative to them (stdout: the current folder). */
function outDir(options: GenOptions): string {
  return options.outDir ?? process.cwd();
}

function renderCompose(options: GenOptions): GeneratedFile[] {
  if (options.tls && !(path.isAbsolute(options.tls.cert) && path.isAbsolute(options.tls.key))) {
    throw new UserError(
      'gen compose: --tls-cert and --tls-key must be absolute paths (they are mounted at the same path in the nginx container)',
    );
  }
  const docker = dockerContext(options);
  const deployRedis = options.redis === 'auto';
  const ha = composeRedisHa(options);
  // A Redis URL with a password (the deployed Redis has one) reaches the roles through .env, never argv.
  const redisUrl = deployRedis
    ? `redis://:${options.redisPassword}@redis:6379`
    : ha.deployHa
      ? ha.haUrl!
      : options.redis;
  const dockerfile = path.join(outDir(options), 'Dockerfile');
  const workers = Array.from({ length: options.instances }, (_, i) => {
    const service = `worker-${i + 1}`;
    const role = workerCommand(options, {
      id: `w${i + 1}`,
      // The registry entry is the worker's MCP endpoint, path included.
      advertiseUrl: `http://${service}:${WORKER_PORT}${options.path}`,
      redisUrl,
      server: docker.serverPathInImage,
    });
    return { service, args: role.args, role };
  });
  const gateways =
    options.affinity === 'gateway'
      ? Array.from({ length: options.gateways }, (_, i) => {
          const role = gatewayCommand(options, redisUrl);
          return { service: `gateway-${i + 1}`, args: role.args, role };
        })
      : [];
  // The proxy waits for what it fronts; the names match nginx.conf's upstreams.
  const proxied = (options.affinity === 'gateway' ? gateways : workers).map((s) => ({ service: s.service }));
  const apiKeys = apiKeysMount(options, 'compose');
  const c = {
    nginxImage: NGINX_IMAGE,
    redisImage: REDIS_IMAGE,
    apiKeys,
    deployRedis,
    ...ha,
    redisServices: deployRedis ? ['redis'] : ha.deployHa ? [...ha.haSentinels] : [],
    volumes: deployRedis
      ? ['redis-data']
      : [...ha.haDataNodes.map((n) => `${n.service}-data`), ...ha.haSentinels.map((s) => `${s}-data`)],
    env: dotEnvEntries([...workers, ...gateways].map((s) => s.role)),
    workers,
    gateways,
    proxied,
    workerPort: WORKER_PORT,
    buildContext: slash(path.relative(outDir(options), options.contextDir)) || '.',
    dockerfile: slash(path.relative(options.contextDir, dockerfile)),
  };
  const composeOptions = { ...options, upstreams: undefined };
  return [
    {
      path: 'compose.yaml',
      kind: 'compose',
      content: renderTemplate('compose/compose.yaml.ejs', {
        o: options,
        c,
        yamlList,
        header: composeChoices(options),
      }),
    },
    {
      path: '.env',
      kind: 'env',
      mode: 0o600,
      content: renderTemplate('compose/env.ejs', {
        o: options,
        c,
        header: [
          'mcp-scale gen compose: secrets compose.yaml reads (env_file and ${...} interpolation).',
          'Every gateway and worker must share the cluster secret (>= 32 bytes). Keep this file out of version control.',
        ],
      }),
    },
    // compose runs nginx in front of its own services, whatever --upstream says.
    renderNginx(composeOptions),
    ...(apiKeys?.placeholder
      ? [{ path: PLACEHOLDER_FILE, kind: 'placeholder' as const, mode: 0o600, content: PLACEHOLDER_CONTENT }]
      : []),
    ...renderDocker(options),
  ];
}

/** `--redis ha` in compose: a primary, a replica and three sentinels, named for their roles at start. */
function composeRedisHa(options: GenOptions) {
  if (options.redis !== 'ha' || !options.redisHa)
    return { deployHa: false, haDataNodes: [], haSentinels: [], haUrl: undefined };
  const haSentinels = ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'];
  const { password, sentinelPassword } = options.redisHa;
  return {
    deployHa: true,
    haMasterName: HA_MASTER_NAME,
    haDataNodes: [
      { service: 'redis-primary', replicaOf: undefined },
      { service: 'redis-replica', replicaOf: 'redis-primary' },
    ],
    haSentinels,
    haUrl: `redis-sentinel://:${password}@${haSentinels.map((s) => `${s}:26379`).join(',')}/${HA_MASTER_NAME}?sentinelPassword=${sentinelPassword}`,
  };
}

/** The three sentinel pods by their stable names (the headless Service of their StatefulSet). */
function k8sHaUrl(options: GenOptions): string {
  const { password, sentinelPassword } = options.redisHa!;
  const sentinels = [0, 1, 2].map((i) => `mcp-scale-sentinel-${i}.mcp-scale-sentinel:26379`).join(',');
  return `redis-sentinel://:${password}@${sentinels}/${HA_MASTER_NAME}?sentinelPassword=${sentinelPassword}`;
}

function renderK8s(options: GenOptions): GeneratedFile[] {
  if (options.affinity === 'session') {
    throw new UserError(
      'gen k8s: --affinity session is not supported (pods come and go under the autoscaler, so a proxy map of worker ids cannot follow them); use --affinity gateway',
    );
  }
  const docker = dockerContext(options);
  const deployRedis = options.redis === 'auto';
  const deployHa = options.redis === 'ha' && options.redisHa !== undefined;
  // Every role reads the Redis URL (it carries a password) and the secrets from the Secret.
  const redisUrl = deployRedis
    ? `redis://:${options.redisPassword}@mcp-scale-redis:6379`
    : deployHa
      ? k8sHaUrl(options)
      : options.redis;
  const viaEnv = ['redis'];
  const worker = workerCommand(options, {
    id: '$(POD_NAME)',
    advertiseUrl: `http://$(POD_IP):${WORKER_PORT}${options.path}`,
    redisUrl,
    server: docker.serverPathInImage,
    viaEnv,
  });
  const gateway = gatewayCommand(options, redisUrl, viaEnv);
  const withGateways = options.affinity === 'gateway';
  const apiKeys = apiKeysMount(options, 'k8s');
  const gatewayTier = withGateways;
  const preStopS = Math.round(options.preStopMs / 1000);
  const k = {
    apiKeys,
    deployRedis,
    gatewayTier,
    haMasterName: HA_MASTER_NAME,
    redisHa: deployHa ? options.redisHa : undefined,
    workerPort: WORKER_PORT,
    gatewayPort: GATEWAY_PORT,
    backendPort: gatewayTier ? GATEWAY_PORT : WORKER_PORT,
    // The node image's `node` user; Redis runs as its image's own `redis` user.
    nodeUid: 1000,
    redisUid: REDIS_UID,
    redisImage: REDIS_IMAGE,
    startupS: 120,
    preStopS,
    // preStop, then the drain, then a margin for closing sessions and Redis.
    gracePeriodS: preStopS + wholeSeconds(options.drainTimeoutMs) + 5,
    streamTimeoutS: wholeSeconds(options.streamTimeoutMs),
    workerArgs: worker.args,
    gatewayArgs: gateway.args,
    workerEnv: Object.keys(worker.env),
    gatewayEnv: Object.keys(gateway.env),
    secrets: mergedEnv(withGateways ? [worker, gateway] : [worker]),
    pdbComponents: [
      'worker',
      ...(options.affinity === 'gateway' ? ['gateway'] : []),
      ...(deployHa ? ['redis', 'sentinel'] : []),
    ],
    hosts: options.serverName === '_' ? [] : options.serverName.split(' '),
    backendService: options.affinity === 'gateway' ? 'mcp-scale-gateway' : 'mcp-scale-worker',
    limitRps: options.rateLimit ? Math.max(1, Math.ceil(options.rateLimit.perSecond)) : undefined,
    failover: PROXY_FAILOVER,
  };
  const files: [K8sFile, boolean][] = [
    ['secret', true],
    ['api-keys', apiKeys?.placeholder === true],
    ['redis', deployRedis],
    ['redis-ha', deployHa],
    ['workers', true],
    ['gateways', options.affinity === 'gateway'],
    ['hpa', true],
    ['pdb', true],
    ['network-policy', true],
    ['ingress', !options.gatewayApi],
    ['gateway-api', options.gatewayApi],
  ];
  return files
    .filter(([, wanted]) => wanted)
    .map(([name]) => ({
      path: `k8s/${name}.yaml`,
      kind: 'k8s',
      ...(name === 'secret' || name === 'api-keys' ? { mode: 0o600 } : {}),
      content: renderTemplate(`k8s/${name}.yaml.ejs`, {
        o: options,
        k,
        placeholderContent: PLACEHOLDER_CONTENT,
        yamlList,
        header: k8sChoices(options, name),
      }),
    }));
}

function renderAll(options: GenOptions): GeneratedFile[] {
  const withK8s = options.affinity !== 'session';
  const files = [
    ...renderCompose(options),
    // Like compose's nginx.conf, the HAProxy file names the compose services.
    renderHaproxy({ ...options, upstreams: undefined }),
    ...(withK8s ? renderK8s(options) : []),
  ];
  const r = {
    k8s: withK8s,
    buildContext: slash(path.relative(outDir(options), options.contextDir)) || '.',
  };
  files.push({
    path: 'README.md',
    kind: 'readme',
    content: renderTemplate('all/README.md.ejs', {
      o: options,
      r,
      header: [
        'mcp-scale gen all: how to start each file in this folder. Generated: edit the flags, not this file.',
      ],
    }),
  });
  return files;
}

/** The secret variables of several roles, each once (the same value everywhere). */
function mergedEnv(roles: RoleCommand[]): [string, string][] {
  const merged = new Map<string, string>();
  for (const role of roles) for (const [name, value] of Object.entries(role.env)) merged.set(name, value);
  return [...merged];
}

/** .env lines are single-quoted (compose reads them literally): a quote or newline cannot be written. */
function dotEnvEntries(roles: RoleCommand[]): [string, string][] {
  const entries = mergedEnv(roles);
  for (const [name, value] of entries) {
    if (/['\n\r]/.test(value)) {
      throw new UserError(
        `gen compose: the value of ${name} contains a quote or a line break, which .env cannot hold`,
      );
    }
  }
  return entries;
}

function slash(p: string): string {
  return p.split(path.sep).join('/');
}
