import type { Command } from 'commander';
import { addSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { printJson, withExamples } from '../options.js';

interface ServeCommandOptions {
  readyFile?: string;
  json?: boolean;
}

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'Run a scaled cluster on this machine: gateways, N MCP server workers and Redis (or memory mode).',
    )
    .option('--ready-file <path>', 'write {url, redis, instances} as JSON here once everything is ready')
    .option('--json', 'print the ready information as JSON on stdout instead of the banner');
  addSettingOptions(command, 'serve');
  withExamples(command, [
    'mcp-scale serve',
    'mcp-scale serve --instances 4 --port 9000 --ready-file /tmp/cluster.json',
    'mcp-scale serve --redis redis://127.0.0.1:6379 --rate-limit 60/1m --cache-ttl get_product=5m',
    'mcp-scale serve --config mcp-scale.yaml',
    'mcp-scale serve --server ./dist/my-server.js --instances 2',
    'mcp-scale serve --server-cmd "python my_server.py --port {port}"',
    'mcp-scale serve --lb nginx --affinity session',
    'mcp-scale serve --gateways 2 --instances 4',
    'mcp-scale serve --gateways 3 --lb haproxy',
    'mcp-scale serve --redis ha --ready-file /tmp/cluster.json   # primary + replica + 3 sentinels',
    "mcp-scale serve --redis 'redis-sentinel://:pass@10.0.0.5:26379,10.0.0.6:26379/mymaster'",
    'mcp-scale serve --otlp-endpoint http://127.0.0.1:4318   # traces to an OTLP/HTTP collector',
  ]);
  command.action(async (options: ServeCommandOptions) => {
    const [
      { resolveClusterConfig },
      { startCluster, refuseUnservable },
      { formatBanner },
      { closeOnSignals },
    ] = await Promise.all([
      import('../../config/settings/resolve.js'),
      import('../../cluster/supervisor.js'),
      import('../../cluster/banner.js'),
      import('../../cluster/ready-signal.js'),
    ]);
    const config = resolveClusterConfig({
      command: 'serve',
      configFile: configFileOption(options),
      flags: settingInputs(options, 'serve'),
    });
    refuseUnservable(config);
    // Refused here, in one line, rather than by every child at start.
    (await import('../../telemetry/tracing-config.js')).resolveTracing(config.otlpEndpoint);
    if (!options.json) process.stderr.write('mcp-scale serve: starting…\n');
    const cluster = await startCluster({ config, readyFile: options.readyFile });
    if (options.json) printJson(cluster.info());
    else process.stdout.write(`${formatBanner(cluster, config)}\n`);
    closeOnSignals(async () => {
      if (!options.json) process.stderr.write('mcp-scale serve: draining…\n');
      await cluster.close();
      if (!options.json) process.stderr.write('mcp-scale serve: stopped\n');
    });
  });
}
