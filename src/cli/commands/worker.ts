import os from 'node:os';
import type { Command } from 'commander';
import { addClusterFlags } from '../cluster-flags.js';
import { withExamples } from '../options.js';

export function registerWorkerCommand(program: Command): void {
  const command = program
    .command('worker')
    .description('Run one worker: hosts an MCP server instance (demo, your module) for both MCP eras.')
    .option('--id <id>', 'worker id, used in session ids and Mcp-Scale-Instance (default: hostname-pid)')
    .option(
      '--advertise-url <url>',
      'register in the Redis registry under this URL, so gateways find this worker',
    )
    .option(
      '--drain-timeout <duration>',
      'on SIGTERM: readiness false, new work refused, running calls finish for this long (default 10s)',
    );
  command.option(
    '--ready-file <path>',
    'write {role, id, url, port, pid} as JSON here once serving (removed on exit)',
  );
  addClusterFlags(command, ['network', 'redis', 'server', 'sessions', 'cache', 'auth']);
  withExamples(command, [
    'mcp-scale worker --port 3001 --id w1',
    'mcp-scale worker --port 3000 --redis redis://redis:6379 --advertise-url http://10.0.0.7:3000/mcp',
    'mcp-scale worker --port 3002 --server ./dist/my-server.js',
  ]);
  command.action(async (flags: Record<string, unknown>) => {
    const { runWorker } = await import('../../cluster/roles.js');
    const id = typeof flags.id === 'string' ? flags.id : defaultWorkerId();
    await runWorker(flags, id);
  });
}

function defaultWorkerId(): string {
  return `${os.hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
}
