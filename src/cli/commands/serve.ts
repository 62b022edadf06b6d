import type { Command } from 'commander';
import { addClusterFlags, SERVE_FLAG_GROUPS } from '../cluster-flags.js';
import { printJson, withExamples } from '../options.js';

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'Run a scaled cluster on this machine: gateways, N MCP server workers and Redis (or memory mode).',
    )
    .option('--instances <n>', 'number of workers (default 3)')
    .option(
      '--gateways <n>',
      'gateway processes behind one address: sharing the port (Node cluster), or behind --lb (default 1)',
    )
    .option('--ready-file <path>', 'write {url, redis, instances} as JSON here once everything is ready')
    .option('--json', 'print the ready information as JSON on stdout instead of the banner');
  addClusterFlags(command, SERVE_FLAG_GROUPS);
  withExamples(command, [
    'mcp-scale serve',
    'mcp-scale serve --instances 4 --port 9000 --ready-file /tmp/cluster.json',
    'mcp-scale serve --redis redis://127.0.0.1:6379 --rate-limit 60/1m --cache-ttl get_product=5m',
    'mcp-scale serve --server ./dist/my-server.js --instances 2',
    'mcp-scale serve --server-cmd "python my_server.py --port {port}"',
    'mcp-scale serve --lb nginx --affinity session',
    'mcp-scale serve --gateways 2 --instances 4',
    'mcp-scale serve --gateways 3 --lb haproxy',
  ]);
  command.action(async (flags: Record<string, unknown>) => {
    const [{ resolveClusterConfig }, { startCluster }, { formatBanner }, { closeOnSignals }] =
      await Promise.all([
        import('../../config/cluster-config.js'),
        import('../../cluster/supervisor.js'),
        import('../../cluster/banner.js'),
        import('../../cluster/ready-signal.js'),
      ]);
    const config = resolveClusterConfig(flags);
    if (!flags.json) process.stderr.write('mcp-scale serve: starting…\n');
    const cluster = await startCluster({
      config,
      flags,
      readyFile: typeof flags.readyFile === 'string' ? flags.readyFile : undefined,
    });
    if (flags.json) printJson(cluster.info());
    else process.stdout.write(`${formatBanner(cluster, config)}\n`);
    closeOnSignals(async () => {
      if (!flags.json) process.stderr.write('mcp-scale serve: draining…\n');
      await cluster.close();
      if (!flags.json) process.stderr.write('mcp-scale serve: stopped\n');
    });
  });
}
