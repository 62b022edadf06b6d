import type { Command } from 'commander';
import { adminOptions, withAdmin, type AdminFlags } from '../admin-command.js';
import { formatDuration } from '../../config/duration.js';
import { table } from '../table.js';
import { intArg, printJson, withExamples } from '../options.js';

export function registerSessionsCommand(program: Command): void {
  const sessions = program
    .command('sessions')
    .description('Inspect and end the 2025-era sessions gateways keep in Redis.');
  withExamples(sessions, [
    'mcp-scale sessions list',
    'mcp-scale sessions list --user alice --json',
    'mcp-scale sessions kill 3q2…',
  ]);

  const list = adminOptions(
    sessions.command('list').description('List sessions (optionally one user’s), oldest first.'),
  )
    .option(
      '--user <user>',
      'only this user’s sessions, with their count (anonymous users: ip:<address>, with --max-sessions-per-user on)',
    )
    .option('--limit <n>', 'at most this many', intArg(1));
  withExamples(list, ['mcp-scale sessions list', 'mcp-scale sessions list --user alice --limit 20 --json']);
  list.action(async (flags: AdminFlags & { user?: string; limit?: number }) => {
    await withAdmin(
      flags,
      () => import('../../admin/sessions.js'),
      async (admin, { listSessions }) => {
        const found = await listSessions(admin, { user: flags.user, limit: flags.limit });
        if (flags.json) return printJson(found);
        if (found.length === 0)
          return console.log(
            flags.user !== undefined ? `user ${flags.user} holds no live sessions` : 'no sessions',
          );
        console.log(
          table(
            ['SESSION', 'USER', 'WORKER', 'CREATED', 'EXPIRES IN', 'MOVES'],
            found.map((s) => [
              s.id,
              s.user ?? '-',
              s.worker,
              s.createdAt,
              formatDuration(Math.max(0, Math.round(s.ttlMs / 1000) * 1000)),
              String(s.moves),
            ]),
          ),
        );
        console.log(
          flags.user !== undefined && flags.limit === undefined
            ? `user ${flags.user} holds ${found.length} live session(s)`
            : `${found.length} session(s)`,
        );
      },
    );
  });

  const show = adminOptions(
    sessions.command('show').description('Show one session.').argument('<id>', 'client-facing session id'),
  );
  withExamples(show, ['mcp-scale sessions show 3q2…', 'mcp-scale sessions show 3q2… --json']);
  show.action(async (id: string, flags: AdminFlags) => {
    await withAdmin(
      flags,
      () => import('../../admin/sessions.js'),
      async (admin, { showSession }) => {
        const session = await showSession(admin, id);
        if (flags.json) return printJson(session);
        for (const [key, value] of Object.entries(session))
          console.log(
            `${key.padEnd(14)} ${Array.isArray(value) ? value.join(', ') || '-' : String(value ?? '-')}`,
          );
      },
    );
  });

  const kill = adminOptions(
    sessions
      .command('kill')
      .description('End a session everywhere: its next request gets 404.')
      .argument('<id>', 'client-facing session id'),
  );
  withExamples(kill, ['mcp-scale sessions kill 3q2…']);
  kill.action(async (id: string, flags: AdminFlags) => {
    await withAdmin(
      flags,
      () => import('../../admin/sessions.js'),
      async (admin, { killSession }) => {
        const session = await killSession(admin, id);
        if (flags.json) return printJson({ killed: session.id, session });
        console.log(`killed session ${session.id} (user ${session.user ?? '-'}, on ${session.worker})`);
      },
    );
  });
}
