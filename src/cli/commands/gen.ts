import { Argument, type Command } from 'commander';
import { addSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { withExamples } from '../options.js';

interface GenCommandOptions {
  out?: string;
  check?: boolean;
  json?: boolean;
  context?: string;
  clusterSecretFile?: string;
  rotateSecret?: boolean;
  pods?: string;
  benchUrl?: string;
}

/**
 * `mcp-scale gen <target>`: takes every gateway and worker setting (the
 * registry's flags, the same config file `serve` reads) plus the gen-only
 * ones, and writes them into the rendered files.
 */
export function registerGenCommand(program: Command): void {
  const command = program
    .command('gen')
    .description(
      'Render production configs (nginx, HAProxy, Dockerfile, compose, Kubernetes, Prometheus, Grafana) and check them.',
    )
    .addArgument(
      new Argument('<target>', 'what to render').choices([
        'nginx',
        'haproxy',
        'docker',
        'compose',
        'k8s',
        'prometheus',
        'grafana',
        'bench',
        'all',
      ]),
    )
    .argument('[bench-flags...]', 'gen bench: the `mcp-scale bench` flags each pod runs, after --')
    .option('--out <dir>', 'write files into this folder, or - for stdout (default -)')
    .option(
      '--check',
      'validate: nginx -t, haproxy -c, compose/k8s schemas, Dockerfile dry run, promtool check config/rules',
    )
    .option('--json', 'report written files, warnings and checks as JSON (needs --out DIR)')
    .option('--pods <n>', 'gen bench: pods of the Kubernetes Job, each running a bench (default 3)')
    .option('--bench-url <url>', 'gen bench: what the pods bench (default the gateway Service of gen k8s)')
    .option(
      '--context <dir>',
      'Docker build context: mcp-scale itself or a project depending on it (default .)',
    )
    .option(
      '--cluster-secret-file <file>',
      'read the cluster secret from this file (>= 32 bytes) instead of keeping the one in --out',
    )
    .option(
      '--rotate-secret',
      'make a new cluster secret and Redis password instead of keeping those already in --out',
    );
  addSettingOptions(command, 'gen');
  withExamples(command, [
    'mcp-scale gen nginx',
    'mcp-scale gen all --out deploy --check',
    'mcp-scale gen nginx --affinity session --instances 4 --server-name mcp.example.com --tls-cert /etc/tls/mcp.pem --tls-key /etc/tls/mcp.key',
    'mcp-scale gen haproxy --upstream g1=10.0.0.5:8080 --upstream g2=10.0.0.6:8080 --out /etc/haproxy/mcp --check',
    'mcp-scale gen compose --config mcp-scale.config.json --out deploy',
    'mcp-scale gen prometheus --out monitoring --check',
    'mcp-scale gen prometheus --discovery kubernetes --metrics-token-file /etc/prometheus/mcp-scale-token --out monitoring',
    'mcp-scale gen grafana --out monitoring',
    'mcp-scale gen k8s --redis rediss://user:pass@redis.internal:6380 --image ghcr.io/acme/mcp:1.0 --max-replicas 20 --out k8s',
    'mcp-scale gen bench --pods 5 --image ghcr.io/acme/mcp:1.0 --out k8s --check -- --clients 100 --ramp-up 30s --duration 3m',
  ]);
  command.action(async (target: string, benchFlags: string[], options: GenCommandOptions) => {
    const [{ resolveClusterConfig }, { runGen }] = await Promise.all([
      import('../../config/settings/resolve.js'),
      import('../../gen/gen-command.js'),
    ]);
    const config = resolveClusterConfig({
      command: 'gen',
      configFile: configFileOption(options),
      flags: settingInputs(options, 'gen'),
    });
    await runGen(target, {
      config,
      out: options.out,
      check: options.check,
      json: options.json,
      context: options.context,
      clusterSecretFile: options.clusterSecretFile,
      rotateSecret: options.rotateSecret,
      bench: { pods: options.pods, url: options.benchUrl, flags: benchFlags },
    });
  });
}
