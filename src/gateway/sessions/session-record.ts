import { randomBytes } from 'node:crypto';

/**
 * A gateway-owned 2025-era session: the client-facing id maps to the worker
 * and upstream session that serve it, plus everything needed to re-create
 * an equivalent session elsewhere (the initialize request and the
 * state-setting calls made since).
 */
export interface SessionRecord {
  /** Client-facing id (192 random bits, base64url). */
  id: string;
  /** Worker id currently serving the session. */
  worker: string;
  /** The worker's own session id. */
  upstream: string;
  /** Authenticated user bound to the session; undefined when anonymous. */
  user?: string;
  /**
   * Whom the session counts against under `--max-sessions-per-user`: the
   * user, or `ip:<address>` when anonymous. Set only while that cap is on.
   */
  owner?: string;
  /** JSON text of the client's initialize `params`, replayed verbatim on re-home (kept as text: smaller in memory). */
  initParams: string;
  /** Protocol version the server agreed in initialize (sent as MCP-Protocol-Version on replays). */
  protocolVersion?: string;
  /** Last `logging/setLevel` level. */
  logLevel?: string;
  /** URIs from `resources/subscribe` not yet unsubscribed. */
  subscriptions: string[];
  createdAt: number;
  /** Bumped by every re-home; re-homes are compare-and-set on it. */
  version: number;
}

/**
 * A client-facing session id: 192 random bits, base64url (visible ASCII).
 * Never starting with `-` or `_`: people paste these into `mcp-scale
 * sessions show <id>`, where a leading `-` reads as a flag.
 */
export function mintSessionId(): string {
  for (;;) {
    const id = randomBytes(24).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/** Redis hash fields (short names: sessions are the gateway's largest Redis footprint). */
export function toHash(record: SessionRecord): Record<string, string> {
  const hash: Record<string, string> = {
    w: record.worker,
    u: record.upstream,
    i: record.initParams,
    s: JSON.stringify(record.subscriptions),
    c: String(record.createdAt),
    v: String(record.version),
  };
  if (record.user !== undefined) hash.usr = record.user;
  if (record.owner !== undefined) hash.o = record.owner;
  if (record.protocolVersion !== undefined) hash.pv = record.protocolVersion;
  if (record.logLevel !== undefined) hash.l = record.logLevel;
  return hash;
}

/** Bytes of replay state a record keeps (what `--max-session-state` bounds). */
export function replayStateBytes(
  record: Pick<SessionRecord, 'initParams' | 'logLevel' | 'subscriptions'>,
): number {
  return (
    Buffer.byteLength(record.initParams) +
    Buffer.byteLength(record.logLevel ?? '') +
    Buffer.byteLength(JSON.stringify(record.subscriptions))
  );
}

export function fromHash(id: string, hash: Record<string, string>): SessionRecord | undefined {
  if (!hash.w || !hash.u) return undefined;
  return {
    id,
    worker: hash.w,
    upstream: hash.u,
    user: hash.usr,
    owner: hash.o,
    initParams: hash.i ?? '{}',
    protocolVersion: hash.pv,
    logLevel: hash.l,
    subscriptions: safeJson(hash.s, [] as string[]),
    createdAt: Number(hash.c ?? 0),
    version: Number(hash.v ?? 0),
  };
}

function safeJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
