import { OperationalError } from '../errors.js';
import { SESSIONS_TOPIC } from '../gateway/sessions/session-directory.js';
import { fromHash, type SessionRecord } from '../gateway/sessions/session-record.js';
import { scanKeys } from '../redis/scan.js';
import type { AdminConnection } from './admin-redis.js';

export interface SessionSummary {
  id: string;
  user: string | null;
  /** Whom the session counts against under --max-sessions-per-user (null when that cap is off). */
  owner: string | null;
  worker: string;
  upstream: string;
  createdAt: string;
  /** Milliseconds until the session expires if idle. */
  ttlMs: number;
  moves: number;
  logLevel: string | null;
  subscriptions: string[];
}

function summarize(record: SessionRecord, ttlMs: number): SessionSummary {
  return {
    id: record.id,
    user: record.user ?? null,
    owner: record.owner ?? null,
    worker: record.worker,
    upstream: record.upstream,
    createdAt: new Date(record.createdAt).toISOString(),
    ttlMs,
    moves: record.version,
    logLevel: record.logLevel ?? null,
    subscriptions: record.subscriptions,
  };
}

/**
 * Every gateway-owned session in Redis (SCAN, never KEYS), optionally one
 * user's: the authenticated user, or the `ip:<address>` an anonymous
 * session counts against under --max-sessions-per-user. With that cap on,
 * a user's sessions are read from their index instead of a full SCAN.
 */
export async function listSessions(
  admin: AdminConnection,
  filter: { user?: string; limit?: number } = {},
): Promise<SessionSummary[]> {
  const found: SessionSummary[] = [];
  const indexed =
    filter.user !== undefined ? await admin.redis.zrange(admin.keys.userSessions(filter.user), 0, -1) : [];
  const keys =
    indexed.length > 0
      ? (async function* () {
          for (const id of indexed) yield admin.keys.session(id);
        })()
      : scanKeys(admin.redis, admin.keys.sessionPattern());
  for await (const key of keys) {
    const id = admin.keys.sessionIdFromKey(key);
    const [hash, ttl] = await Promise.all([admin.redis.hgetall(key), admin.redis.pttl(key)]);
    const record = fromHash(id, hash);
    if (!record) continue;
    if (filter.user !== undefined && record.user !== filter.user && record.owner !== filter.user) continue;
    found.push(summarize(record, ttl));
    if (filter.limit !== undefined && found.length >= filter.limit) break;
  }
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function showSession(admin: AdminConnection, id: string): Promise<SessionSummary> {
  const key = admin.keys.session(id);
  const [hash, ttl] = await Promise.all([admin.redis.hgetall(key), admin.redis.pttl(key)]);
  const record = fromHash(id, hash);
  if (!record) throw new OperationalError(`no session ${id}`, 'NOT_FOUND');
  return summarize(record, ttl);
}

/**
 * Ends a session everywhere: its record goes, and every gateway drops its
 * in-memory copy (pub/sub), so the client's next request gets 404.
 */
export async function killSession(admin: AdminConnection, id: string): Promise<SessionSummary> {
  const summary = await showSession(admin, id);
  await admin.redis.unlink(admin.keys.session(id));
  await admin.redis.publish(
    admin.keys.channel(SESSIONS_TOPIC),
    JSON.stringify({ o: 'mcp-scale-admin', m: { id } }),
  );
  return summary;
}
