import { Argument, Option, type Command } from 'commander';
import { collectStrings, withExamples } from '../options.js';

/**
 * `mcp-scale gen <target>`. Values stay raw strings: resolveClusterConfig
 * parses them with the config file's rules, so `--max-body 8mb` and
 * `"maxBody": "8mb"` agree; gen-only keys are accepted in the file too.
 */
export function registerGenCommand(program: Command): void {
  const command = program
    .command('gen')
    .description(
      'Render production configs (nginx, HAProxy, Dockerfile, compose, Kubernetes) and check them.',
    )
    .addArgument(
      new Argument('<target>', 'what to render').choices([
        'nginx',
        'haproxy',
        'docker',
        'compose',
        'k8s',
        'all',
      ]),
    )
    .option('--out <dir>', 'write files into this folder, or - for stdout (default -)')
    .option('--config <file>', 'read settings from a JSON config file (the one serve uses)')
    .option('--check', 'validate: nginx -t, haproxy -c, compose/k8s schemas, Dockerfile dry run')
    .option('--json', 'report written files, warnings and checks as JSON (needs --out DIR)')
    .option('--instances <n>', 'workers (default 3; Kubernetes: the HPA minimum unless --min-replicas)')
    .option('--gateways <n>', 'gateways (default 2: one is a single point of failure)')
    .option('--port <port>', 'public port of the proxy (default 8080)')
    .option('--path <path>', 'MCP endpoint path (default /mcp)')
    .option('--max-body <size>', 'largest request body, e.g. 4mb; client_max_body_size matches it')
    .addOption(
      new Option('--affinity <mode>', 'how sessions stay on their worker (default gateway)').choices([
        'gateway',
        'session',
        'ip',
        'none',
      ]),
    )
    .addOption(
      new Option('--sessions <mode>', '2025-era serving (default stateful)').choices([
        'stateful',
        'stateless',
      ]),
    )
    .option('--session-ttl <duration>', 'session lifetime; HAProxy stick entries expire with it (default 1h)')
    .option('--redis <url>', 'auto (deploy Redis) or the redis:// / rediss:// URL of a managed Redis')
    .option('--server <module>', 'your MCP server module, bundled into the image (default: the demo)')
    .option(
      '--cluster-secret <secret>',
      'cluster secret (env MCP_SCALE_CLUSTER_SECRET; default: a new random one)',
    )
    .option('--cluster-secret-file <file>', 'read the cluster secret from this file (>= 32 bytes)')
    .option(
      '--rotate-secret',
      'make a new cluster secret and Redis password instead of keeping those already in --out',
    )
    .option('--drain-timeout <duration>', 'drain time on shutdown; sets the pod grace period (default 10s)')
    .option('--server-name <names>', 'host name(s) the proxy answers, space-separated (default: any)')
    .option('--tls-cert <file>', 'terminate TLS at the proxy with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key for --tls-cert')
    .option('--nginx-rate-limit <rate>', 'per-client-IP limit at the proxy, e.g. 10r/s, 600r/m or 10/1s')
    .option('--nginx-burst <n>', 'requests allowed above --nginx-rate-limit at once (default 20)')
    .option('--stream-timeout <duration>', 'how long a quiet SSE stream stays open (default 1h)')
    .option(
      '--stream-limit-per-ip <n>',
      'nginx: concurrent SSE GET streams per client IP, 429 above (default 256; 0 = off)',
    )
    .option(
      '--upstream <[id=]host:port>',
      'a proxy backend for gen nginx/haproxy (repeatable; default: compose service names)',
      collectStrings,
    )
    .option('--image <image>', 'the mcp-scale image compose and Kubernetes run (default mcp-scale:local)')
    .option(
      '--base-image <image>',
      'FROM of the Dockerfile: node:<tag>, or pinned node:<tag>@sha256:<digest> (default node:24-slim)',
    )
    .option(
      '--pre-stop <duration>',
      'Kubernetes: wait this long before SIGTERM so endpoints forget the pod (default 5s)',
    )
    .option(
      '--monitoring-namespace <name>',
      'Kubernetes NetworkPolicy: namespace allowed to scrape /metrics (default monitoring)',
    )
    .option('--monitoring-selector <labels>', 'only its pods with these labels, e.g. app=prometheus')
    .option('--gateway-api', 'Kubernetes: write a Gateway API Gateway + HTTPRoute instead of the Ingress')
    .option('--gateway-class <name>', 'gatewayClassName of that Gateway (default default)')
    .option('--min-replicas <n>', 'Kubernetes HPA minimum workers (default --instances)')
    .option('--max-replicas <n>', 'Kubernetes HPA maximum workers (default 10)')
    .option('--cpu-target <percent>', 'Kubernetes HPA average CPU target (default 70)')
    .option(
      '--context <dir>',
      'Docker build context: mcp-scale itself or a project depending on it (default .)',
    );
  withExamples(command, [
    'mcp-scale gen nginx',
    'mcp-scale gen all --out deploy --check',
    'mcp-scale gen nginx --affinity session --instances 4 --server-name mcp.example.com --tls-cert /etc/tls/mcp.pem --tls-key /etc/tls/mcp.key',
    'mcp-scale gen haproxy --upstream g1=10.0.0.5:8080 --upstream g2=10.0.0.6:8080 --out /etc/haproxy/mcp --check',
    'mcp-scale gen compose --config mcp-scale.config.json --out deploy',
    'mcp-scale gen k8s --redis rediss://user:pass@redis.internal:6380 --image ghcr.io/acme/mcp:1.0 --max-replicas 20 --out k8s',
  ]);
  command.action(async (target: string, flags: Record<string, unknown>) => {
    const { runGen } = await import('../../gen/gen-command.js');
    await runGen(target, flags);
  });
}
