import { Option, type Command } from 'commander';
import { addAllSettingOptions, configFileOption, settingInputs } from '../setting-options.js';
import { printJson, withExamples } from '../options.js';
import { table } from '../table.js';

interface ConfigPrintOptions {
  json?: boolean;
  for?: 'serve' | 'gateway' | 'worker' | 'gen';
}

/** `mcp-scale config print`: the effective settings and where each came from (like `nginx -T`). */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('Show the settings a command would run with: defaults < config file < environment < flags.');
  const print = config
    .command('print')
    .description(
      'Print every effective setting with its source (default, file, env, flag); secrets are redacted.',
    )
    .addOption(
      new Option('--for <command>', 'resolve as this command would (its defaults and its settings)')
        .choices(['serve', 'gateway', 'worker', 'gen'])
        .default('serve'),
    )
    .option('--json', 'print JSON: one entry per setting with key, flag, env, value, source');
  addAllSettingOptions(print);
  withExamples(print, [
    'mcp-scale config print',
    'mcp-scale config print --config mcp-scale.yaml --rate-limit 60/1m',
    'MCP_SCALE_SESSION_TTL=30m mcp-scale config print --for gateway --json',
    'mcp-scale config print --for gen --config mcp-scale.yaml --gateways 3',
  ]);
  withExamples(config, ['mcp-scale config print --config mcp-scale.yaml']);
  print.action(async (options: ConfigPrintOptions) => {
    const { describeSettings } = await import('../../config/settings/describe.js');
    const command = options.for ?? 'serve';
    const rows = describeSettings({
      command,
      configFile: configFileOption(options),
      flags: settingInputs(options),
    });
    if (options.json) return printJson(rows);
    console.log(
      table(
        ['KEY', 'VALUE', 'SOURCE'],
        rows.map((row) => [row.key, row.value, row.source]),
      ),
    );
  });
}
