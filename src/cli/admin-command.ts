import type { Command } from 'commander';
import type { AdminConnection } from '../admin/admin-redis.js';

/** Flags every Redis admin command (`sessions`, `cache`, `limits`) takes. */
export interface AdminFlags {
  redis?: string;
  prefix?: string;
  json?: boolean;
}

export function adminOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'Redis to inspect (default: REDIS_URL, else the running serve cluster)')
    .option('--prefix <prefix>', 'key prefix (default mcp-scale:, or the running cluster’s)')
    .option('--json', 'machine-readable output on stdout');
}

/**
 * Connects to the Redis the flags name (else REDIS_URL, else the running
 * cluster's), loads the command's library lazily, runs, and disconnects.
 */
export async function withAdmin<Api>(
  flags: AdminFlags,
  loadApi: () => Promise<Api>,
  run: (admin: AdminConnection, api: Api) => Promise<void>,
): Promise<void> {
  const [{ resolveAdminTarget, connectAdmin }, api] = await Promise.all([
    import('../admin/admin-redis.js'),
    loadApi(),
  ]);
  const admin = await connectAdmin(resolveAdminTarget(flags));
  try {
    await run(admin, api);
  } finally {
    await admin.close();
  }
}
