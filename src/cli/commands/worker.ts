import os from 'node:os';
import type { Command } from 'commander';
import { addSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { withExamples } from '../options.js';

interface WorkerCommandOptions {
  id?: string;
  advertiseUrl?: string;
  readyFile?: string;
}

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
      '--ready-file <path>',
      'write {role, id, url, port, pid} as JSON here once serving (removed on exit)',
    );
  addSettingOptions(command, 'worker');
  withExamples(command, [
    'MCP_SCALE_CLUSTER_SECRET=$(openssl rand -base64 36) mcp-scale worker --port 3001 --id w1',
    'mcp-scale worker --port 3000 --redis redis://redis:6379 --advertise-url http://10.0.0.7:3000/mcp',
    'mcp-scale worker --port 3002 --server ./dist/my-server.js',
    'mcp-scale worker --port 3003 --auth apikey --api-keys keys.txt   # alone, without a gateway',
  ]);
  command.action(async (options: WorkerCommandOptions) => {
    const [{ resolveClusterConfig }, { runWorker }] = await Promise.all([
      import('../../config/settings/resolve.js'),
      import('../../cluster/roles.js'),
    ]);
    const config = resolveClusterConfig({
      command: 'worker',
      configFile: configFileOption(options),
      flags: settingInputs(options, 'worker'),
    });
    await runWorker(config, {
      id: options.id ?? defaultWorkerId(),
      advertiseUrl: options.advertiseUrl,
      readyFile: options.readyFile,
    });
  });
}

function defaultWorkerId(): string {
  return `${os.hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
}
