import type { Command } from 'commander';
import { adminOptions, withAdmin, type AdminFlags } from '../admin-command.js';
import { UserError } from '../../errors.js';
import { intArg, printJson, withExamples } from '../options.js';
import { table } from '../table.js';

interface FlushFlags extends AdminFlags {
  tool?: string;
  user?: string;
  all?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

export function registerCacheCommand(program: Command): void {
  const cache = program
    .command('cache')
    .description('Inspect and flush the tool-result cache workers keep in Redis.');
  withExamples(cache, [
    'mcp-scale cache stats',
    'mcp-scale cache list --tool get_product --limit 20',
    'mcp-scale cache flush --tool get_inventory --yes',
  ]);

  const stats = adminOptions(
    cache.command('stats').description('Entries, memory and hit ratio per tool.'),
  ).option('--sample <n>', 'entries per tool to measure with MEMORY USAGE (default 50)', intArg(1, 10_000));
  withExamples(stats, ['mcp-scale cache stats', 'mcp-scale cache stats --json']);
  stats.action(async (flags: AdminFlags & { sample?: number }) => {
    await withAdmin(
      flags,
      () => import('../../admin/cache.js'),
      async (admin, { cacheStats }) => {
        const report = await cacheStats(admin, { sample: flags.sample });
        if (flags.json) return printJson(report);
        if (report.tools.length === 0) return console.log('the cache is empty and no calls were counted');
        console.log(
          table(
            ['TOOL', 'ENTRIES', 'MEMORY', 'HITS', 'MISSES', 'BYPASS', 'HIT RATIO'],
            report.tools.map((t) => [
              t.tool,
              String(t.entries),
              formatBytes(t.memoryBytes),
              String(t.hits),
              String(t.misses),
              String(t.bypasses),
              t.hitRatio === null ? '-' : `${(t.hitRatio * 100).toFixed(1)}%`,
            ]),
          ),
        );
        console.log(
          `${report.entries} entries, ~${formatBytes(report.memoryBytes)} (MEMORY USAGE of ${report.memorySampled} sampled)`,
        );
      },
    );
  });

  const list = adminOptions(
    cache.command('list').description('Cache entries with their time to live (the first N found).'),
  )
    .option('--tool <tool>', 'only this tool’s entries')
    .option('--user <user>', 'only entries of this user (user-scoped tools)')
    .option('--limit <n>', 'at most this many (default 100)', intArg(1));
  withExamples(list, ['mcp-scale cache list', 'mcp-scale cache list --tool get_user --user alice --json']);
  list.action(async (flags: AdminFlags & { tool?: string; user?: string; limit?: number }) => {
    await withAdmin(
      flags,
      () => import('../../admin/cache.js'),
      async (admin, { listCacheEntries }) => {
        const found = await listCacheEntries(admin, {
          tool: flags.tool,
          user: flags.user,
          limit: flags.limit,
        });
        if (flags.json) return printJson(found);
        if (found.length === 0) return console.log('no cache entries');
        console.log(
          table(
            ['TOOL', 'SCOPE', 'ERA', 'EXPIRES IN', 'SIZE', 'ARGUMENTS'],
            found.map((e) => [
              e.tool,
              e.user === null ? 'public' : `user ${e.user}`,
              e.era,
              formatRemaining(e.ttlMs),
              formatBytes(e.bytes),
              truncate(e.args === null ? '?' : JSON.stringify(e.args), 60),
            ]),
          ),
        );
        console.log(`${found.length} entr${found.length === 1 ? 'y' : 'ies'}`);
      },
    );
  });

  const flush = adminOptions(
    cache
      .command('flush')
      .description('Remove cache entries by tool and/or user, or all (never sessions or limits).'),
  )
    .option('--tool <tool>', 'remove this tool’s entries')
    .option('--user <user>', 'remove this user’s entries')
    .option('--all', 'remove every cache entry')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--yes', 'do not ask for confirmation (required when not on a terminal)');
  withExamples(flush, [
    'mcp-scale cache flush --tool get_product',
    'mcp-scale cache flush --user alice --yes',
    'mcp-scale cache flush --all --dry-run',
  ]);
  flush.action(async (flags: FlushFlags) => {
    const api = await import('../../admin/cache.js');
    const request = { tool: flags.tool, user: flags.user, all: flags.all, dryRun: flags.dryRun };
    api.checkFlushRequest(request);
    const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    if (!flags.yes && !flags.dryRun && !interactive) {
      throw new UserError(
        'refusing to flush without --yes: there is no terminal to confirm on (--dry-run counts)',
      );
    }
    await withAdmin(
      flags,
      () => import('../../admin/cache.js'),
      async (admin, { flushCache }) => {
        const what = describe(request);
        if (!flags.yes && !flags.dryRun) {
          const { matched } = await flushCache(admin, { ...request, dryRun: true });
          if (matched === 0) return report(flags, { matched: 0, removed: 0, dryRun: false }, what);
          if (
            !(await confirm(`Remove ${matched} cache entr${matched === 1 ? 'y' : 'ies'} (${what})? [y/N] `))
          ) {
            process.stderr.write('nothing removed\n');
            return;
          }
        }
        const result = await flushCache(admin, request);
        report(flags, { ...result, dryRun: Boolean(flags.dryRun) }, what);
      },
    );
  });
}

function report(
  flags: FlushFlags,
  result: { matched: number; removed: number; dryRun: boolean },
  what: string,
) {
  if (flags.json)
    return printJson({
      ...result,
      filter: { tool: flags.tool ?? null, user: flags.user ?? null, all: Boolean(flags.all) },
    });
  if (result.dryRun)
    console.log(`would remove ${result.matched} cache entr${result.matched === 1 ? 'y' : 'ies'} (${what})`);
  else console.log(`removed ${result.removed} cache entr${result.removed === 1 ? 'y' : 'ies'} (${what})`);
}

function describe(request: { tool?: string; user?: string; all?: boolean }): string {
  if (request.all) return 'all';
  return [
    request.tool !== undefined ? `tool ${request.tool}` : '',
    request.user !== undefined ? `user ${request.user}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** 9m59s, 42s, 1h5m: how long an entry has left, to the second. */
function formatRemaining(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
