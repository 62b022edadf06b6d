import type { Command } from 'commander';
import { addClusterFlags } from '../cluster-flags.js';
import { collectStrings, withExamples } from '../options.js';

export function registerGatewayCommand(program: Command): void {
  const command = program
    .command('gateway')
    .description(
      'Run a gateway: fronts workers (given as URLs or found in the Redis registry), owns sessions, limits, streams.',
    )
    .option(
      '--worker <[id=]url>',
      'a worker to front, e.g. w1=http://10.0.0.7:3000/mcp (repeatable; default: the Redis registry)',
      collectStrings,
    );
  command
    .option('--id <id>', 'gateway id, in its status, logs and the ready file (default gateway)')
    .option(
      '--admin-port <port>',
      'also serve /healthz, /readyz, /metrics and /_mcp-scale/status of this process alone on this port',
    );
  command.option(
    '--ready-file <path>',
    'write {role, id, url, port, pid} as JSON here once serving (removed on exit)',
  );
  addClusterFlags(command, ['network', 'redis', 'sessions', 'proxy', 'auth', 'limits']);
  withExamples(command, [
    'mcp-scale gateway --port 8080 --redis redis://127.0.0.1:6379',
    'mcp-scale gateway --port 8080 --worker w1=http://127.0.0.1:3001/mcp --worker w2=http://127.0.0.1:3002/mcp',
    'mcp-scale gateway --host 0.0.0.0 --redis rediss://:secret@redis.example:6380 --rate-limit 60/1m',
  ]);
  command.action(async (flags: Record<string, unknown>) => {
    const { runGateway } = await import('../../cluster/roles.js');
    await runGateway(flags);
  });
}
