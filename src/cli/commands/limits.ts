import type { Command } from 'commander';
import type { LimitSummary } from '../../admin/limits.js';
import { adminOptions, withAdmin, type AdminFlags } from '../admin-command.js';
import { formatDuration } from '../../config/duration.js';
import { table } from '../table.js';
import { intArg, printJson, withExamples } from '../options.js';

const KEY_HELP =
  'limit key: user:<user>, ip:<address> or tool:<tool>:<user> (with --auth none a user is its IP)';

export function registerLimitsCommand(program: Command): void {
  const limits = program
    .command('limits')
    .description('Inspect and reset the rate-limit counters gateways keep in Redis.');
  withExamples(limits, [
    'mcp-scale limits list',
    'mcp-scale limits show user:alice',
    'mcp-scale limits show tool:search_products:alice --json',
    'mcp-scale limits reset ip:203.0.113.7',
  ]);

  const show = adminOptions(
    limits
      .command('show')
      .description('Points used and left, when the window resets, and whether the key is refused now.')
      .argument('<key>', KEY_HELP),
  );
  withExamples(show, ['mcp-scale limits show user:alice', 'mcp-scale limits show user:127.0.0.1 --json']);
  show.action(async (key: string, flags: AdminFlags) => {
    await withAdmin(
      flags,
      () => import('../../admin/limits.js'),
      async (admin, { showLimit }) => {
        const summary = await showLimit(admin, key);
        if (flags.json) return printJson(summary);
        printSummary(summary);
      },
    );
  });

  const reset = adminOptions(
    limits
      .command('reset')
      .description('Clear the counter of a key: its next request starts a fresh window.')
      .argument('<key>', KEY_HELP),
  );
  withExamples(reset, [
    'mcp-scale limits reset user:alice',
    'mcp-scale limits reset tool:generate_report:bob',
  ]);
  reset.action(async (key: string, flags: AdminFlags) => {
    await withAdmin(
      flags,
      () => import('../../admin/limits.js'),
      async (admin, { resetLimit }) => {
        const result = await resetLimit(admin, key);
        if (flags.json) return printJson(result);
        console.log(
          result.removed
            ? `reset ${result.key} (had used ${result.before.used}${quotaText(result.before)})`
            : `${result.key} had nothing counted; nothing to reset`,
        );
      },
    );
  });

  const list = adminOptions(limits.command('list').description('Every counted key (SCAN), busiest first.'))
    .option('--policy <policy>', 'only this policy: user, ip or tool:<tool>')
    .option('--limit <n>', 'at most this many', intArg(1));
  withExamples(list, ['mcp-scale limits list', 'mcp-scale limits list --policy tool:search_products --json']);
  list.action(async (flags: AdminFlags & { policy?: string; limit?: number }) => {
    await withAdmin(
      flags,
      () => import('../../admin/limits.js'),
      async (admin, { listLimits }) => {
        const found = await listLimits(admin, { policy: flags.policy, limit: flags.limit });
        if (flags.json) return printJson(found);
        if (found.length === 0) return console.log('no counted keys');
        console.log(
          table(
            ['KEY', 'USED', 'REMAINING', 'RESETS IN', 'BLOCKED'],
            found.map((s) => [
              s.key,
              `${s.used}${quotaText(s)}`,
              s.remaining === null ? '?' : String(s.remaining),
              s.resetsInMs === null ? '-' : formatDuration(Math.ceil(s.resetsInMs / 1000) * 1000),
              s.blocked ? 'yes' : 'no',
            ]),
          ),
        );
        console.log(`${found.length} key(s)`);
      },
    );
  });
}

function quotaText(summary: LimitSummary): string {
  return summary.limit ? `/${summary.limit.points} per ${formatDuration(summary.limit.windowMs)}` : '';
}

function printSummary(s: LimitSummary): void {
  const rows: [string, string][] = [
    ['key', s.key],
    [
      'policy',
      s.limit
        ? `${s.policy} (${s.limit.points} per ${formatDuration(s.limit.windowMs)}${s.limit.blockMs ? `, block ${formatDuration(s.limit.blockMs)}` : ''})`
        : `${s.policy} (quota unknown: no gateway published it)`,
    ],
    ['used', String(s.used)],
    ['remaining', s.remaining === null ? '?' : String(s.remaining)],
    [
      'resets',
      s.resetsAt === null
        ? '- (nothing counted)'
        : `${s.resetsAt} (in ${formatDuration(Math.ceil((s.resetsInMs ?? 0) / 1000) * 1000)})`,
    ],
    ['blocked', s.blocked ? 'yes: counted requests get 429 until it resets' : 'no'],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(10)} ${value}`);
}
