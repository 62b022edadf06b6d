import type { Command } from 'commander';
import type { AdminConnection } from '../../admin/admin-redis.js';
import type * as LimitsApi from '../../admin/limits.js';
import { formatDuration } from '../../config/duration.js';
import { table } from '../table.js';
import { intArg, printJson, withExamples } from '../options.js';

interface AdminFlags {
  redis?: string;
  prefix?: string;
  json?: boolean;
}

const KEY_HELP =
  'limit key: user:<user>, ip:<address> or tool:<tool>:<user> (with --auth none a user is its IP)';

function adminOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'Redis to inspect (default: REDIS_URL, else the running serve cluster)')
    .option('--prefix <prefix>', 'key prefix (default mcp-scale:, or that of the running cluster)')
    .option('--json', 'machine-readable output on stdout');
}

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
    await withAdmin(flags, async (admin, { showLimit }) => {
      const summary = await showLimit(admin, key);
      if (flags.json) return printJson(summary);
      printSummary(summary);
    });
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
    await withAdmin(flags, async (admin, { resetLimit }) => {
      const result = await resetLimit(admin, key);
      if (flags.json) return printJson(result);
      console.log(
        result.removed
          ? `reset ${result.key} (had used ${result.before.used}${quotaText(result.before)})`
          : `${result.key} had nothing counted; nothing to reset`,
      );
    });
  });

  const list = adminOptions(limits.command('list').description('Every counted key (SCAN), busiest first.'))
    .option('--policy <policy>', 'only this policy: user, ip or tool:<tool>')
    .option('--limit <n>', 'at most this many', intArg(1));
  withExamples(list, ['mcp-scale limits list', 'mcp-scale limits list --policy tool:search_products --json']);
  list.action(async (flags: AdminFlags & { policy?: string; limit?: number }) => {
    await withAdmin(flags, async (admin, { listLimits }) => {
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
    });
  });
}

function quotaText(summary: LimitsApi.LimitSummary): string {
  return summary.limit ? `/${summary.limit.points} per ${formatDuration(summary.limit.windowMs)}` : '';
}

function printSummary(s: LimitsApi.LimitSummary): void {
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

async function withAdmin(
  flags: AdminFlags,
  run: (admin: AdminConnection, api: typeof LimitsApi) => Promise<void>,
): Promise<void> {
  const [{ resolveAdminTarget, connectAdmin }, api] = await Promise.all([
    import('../../admin/admin-redis.js'),
    import('../../admin/limits.js'),
  ]);
  const admin = await connectAdmin(resolveAdminTarget(flags));
  try {
    await run(admin, api);
  } finally {
    await admin.close();
  }
}
