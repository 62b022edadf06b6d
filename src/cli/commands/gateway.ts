import type { Command } from 'commander';
import { addSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { collectStrings, withExamples } from '../options.js';

interface GatewayCommandOptions {
  worker?: string[];
  readyFile?: string;
  id?: string;
  adminPort?: string;
}

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
    )
    .option(
      '--ready-file <path>',
      'write {role, id, url, port, pid} as JSON here once serving (removed on exit)',
    );
  command
    .option('--id <id>', 'gateway id, in its status, logs and the ready file (default gateway)')
    .option(
      '--admin-port <port>',
      'also serve /healthz, /readyz, /metrics and /_mcp-scale/status of this process alone on this port',
    );
  addSettingOptions(command, 'gateway');
  withExamples(command, [
    'export MCP_SCALE_CLUSTER_SECRET=$(openssl rand -base64 36)   # the same value for every gateway and worker',
    'mcp-scale gateway --port 8080 --redis redis://127.0.0.1:6379',
    'mcp-scale gateway --port 8080 --worker w1=http://127.0.0.1:3001/mcp --worker w2=http://127.0.0.1:3002/mcp',
    'MCP_SCALE_REDIS_URL=rediss://:secret@redis.example:6380 mcp-scale gateway --host 0.0.0.0 --rate-limit 60/1m',
  ]);
  command.action(async (options: GatewayCommandOptions) => {
    const [{ resolveClusterConfig }, { runGateway }] = await Promise.all([
      import('../../config/settings/resolve.js'),
      import('../../cluster/roles.js'),
    ]);
    const config = resolveClusterConfig({
      command: 'gateway',
      configFile: configFileOption(options),
      flags: settingInputs(options, 'gateway'),
    });
    await runGateway(config, {
      workers: options.worker,
      readyFile: options.readyFile,
      id: options.id,
      adminPort: options.adminPort,
    });
  });
}
