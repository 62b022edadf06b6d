import { randomUUID } from 'node:crypto';
import type { ClusterBus } from '../../bus/cluster-bus.js';
import { LruMap } from '../../util/lru-map.js';
import type { SessionBackend } from './session-backend.js';
import type { SessionRecord } from './session-record.js';

export const SESSIONS_TOPIC = 'sessions';

interface Cached {
  record: SessionRecord;
  lastSeen: number;
  lastRefresh: number;
  /** When the owner's last-use score was last moved (per-user caps). */
  lastOwnerTouch: number;
}

/** How often a request moves its session's last-use score for per-user caps (a Redis write). */
const OWNER_TOUCH_MS = 5000;

export interface SessionDirectoryOptions {
  ttlMs: number;
  /** Records kept in memory (`--session-cache-size`); older ones are read from the backend again. */
  cacheSize: number;
  /** Told when a request used a session that counts against a user cap. */
  onOwnerUse?: (owner: string, id: string) => void;
}

export type Lookup = { found: SessionRecord } | { missing: true } | { unavailable: true };

/**
 * Session records as the hot path sees them: served from process memory (a
 * bounded LRU, so a gateway's heap does not grow with the sessions in
 * Redis), read through from the backend on a miss, and dropped when another
 * gateway announces a move or a deletion on the cluster bus. The sliding TTL is
 * refreshed lazily (at most every ttl/8 per session), so a request costs no
 * Redis round trip at all when its session is known here.
 *
 * While Redis is unreachable, known sessions keep working and new ones are
 * kept here and written to Redis when it returns.
 */
export class SessionDirectory {
  private readonly cache: LruMap<string, Cached>;
  private readonly ttlMs: number;
  private readonly pending = new Map<string, SessionRecord>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  /** Tags this gateway's own announcements so it does not drop what it just stored. */
  private readonly origin = randomUUID();

  constructor(
    private readonly backend: SessionBackend,
    private readonly bus: ClusterBus,
    private readonly options: SessionDirectoryOptions,
  ) {
    this.ttlMs = options.ttlMs;
    this.cache = new LruMap(options.cacheSize);
    const ttlMs = options.ttlMs;
    this.unsubscribe = bus.subscribe(SESSIONS_TOPIC, (message) => {
      const { id, from } = message as { id: string; from?: string };
      if (from !== this.origin) this.cache.delete(id);
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(1000, ttlMs / 4)));
    this.sweeper.unref();
  }

  /** Sessions known to this gateway (memory), for /metrics and status. */
  get size(): number {
    return this.cache.size;
  }

  /** The bound on `size` (`--session-cache-size`). */
  get cacheSize(): number {
    return this.cache.max;
  }

  get pendingWrites(): number {
    return this.pending.size;
  }

  async get(id: string): Promise<Lookup> {
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && now - cached.lastSeen < this.ttlMs) {
      cached.lastSeen = now;
      if (now - cached.lastRefresh > this.ttlMs / 8) {
        cached.lastRefresh = now;
        this.backend.touch(id, this.ttlMs).catch(() => {});
      }
      if (cached.record.owner !== undefined && now - cached.lastOwnerTouch > OWNER_TOUCH_MS) {
        cached.lastOwnerTouch = now;
        this.options.onOwnerUse?.(cached.record.owner, id);
      }
      return { found: cached.record };
    }
    if (cached) this.cache.delete(id);
    const unwritten = this.pending.get(id);
    if (unwritten) {
      this.remember(unwritten);
      return { found: unwritten };
    }
    if (!this.backend.available()) return { unavailable: true };
    let record: SessionRecord | undefined;
    try {
      record = await this.backend.load(id);
    } catch {
      return { unavailable: true };
    }
    if (!record) return { missing: true };
    this.remember(record);
    this.backend.touch(id, this.ttlMs).catch(() => {});
    if (record.owner !== undefined) this.options.onOwnerUse?.(record.owner, id);
    return { found: record };
  }

  async create(record: SessionRecord): Promise<void> {
    this.remember(record);
    try {
      if (!this.backend.available()) throw new Error('backend unavailable');
      await this.backend.save(record, this.ttlMs);
    } catch {
      this.pending.set(record.id, record);
    }
  }

  /**
   * Moves a session to a new home if nobody moved it since `from.version`.
   * Returns the record now in force: ours, or the winner's.
   */
  async move(
    from: SessionRecord,
    worker: string,
    upstream: string,
  ): Promise<{ moved: boolean; record?: SessionRecord }> {
    const next: SessionRecord = { ...from, worker, upstream, version: from.version + 1 };
    if (!this.backend.available() || this.pending.has(from.id)) {
      // Redis away (or it never heard of this session): move here, write later.
      this.remember(next);
      this.pending.set(next.id, next);
      return { moved: true, record: next };
    }
    const moved = await this.backend.compareAndMove(from.id, from.version, worker, upstream, this.ttlMs);
    if (moved) {
      this.remember(next);
      this.announce(from.id);
      return { moved: true, record: next };
    }
    this.cache.delete(from.id);
    const current = await this.backend.load(from.id);
    if (current) this.remember(current);
    return { moved: false, record: current };
  }

  async patch(
    record: SessionRecord,
    fields: Partial<Pick<SessionRecord, 'logLevel' | 'subscriptions'>>,
  ): Promise<void> {
    Object.assign(record, fields);
    try {
      await this.backend.patch(record.id, fields);
      this.announce(record.id);
    } catch {
      this.pending.set(record.id, record);
    }
  }

  async remove(id: string): Promise<void> {
    this.cache.delete(id);
    this.pending.delete(id);
    try {
      await this.backend.remove(id);
    } finally {
      this.announce(id);
    }
  }

  /**
   * Locks a session for re-homing (one gateway at a time) and re-reads its
   * record in the same round trip, bypassing this gateway's memory: someone
   * may have moved it since it was last read. With the backend away the
   * lock is this gateway's alone (nothing to read).
   */
  async lockAndReload(
    id: string,
    owner: string,
    ttlMs: number,
  ): Promise<{ locked: boolean; record?: SessionRecord }> {
    if (!this.backend.available()) return { locked: true };
    const result = await this.backend.lockAndLoad(id, owner, ttlMs);
    if (!result.locked) return { locked: false };
    this.cache.delete(id);
    if (result.record) this.remember(result.record);
    return { locked: true, record: result.record };
  }

  unlock(id: string, owner: string): Promise<void> {
    return this.backend.unlock(id, owner).catch(() => {});
  }

  /** Re-reads a session from the backend, bypassing this gateway's memory. */
  async reload(id: string): Promise<SessionRecord | undefined> {
    this.cache.delete(id);
    const record = await this.backend.load(id);
    if (record) this.remember(record);
    return record;
  }

  /** Writes what was created or moved while Redis was away. Called when Redis is back. */
  async flushPending(): Promise<void> {
    for (const [id, record] of [...this.pending]) {
      try {
        await this.backend.save(record, this.ttlMs);
        this.pending.delete(id);
        this.announce(id);
      } catch {
        return; // still away: keep the rest for the next attempt
      }
    }
  }

  /** Tells other gateways to forget their copy of a session. */
  private announce(id: string): void {
    this.bus.publish(SESSIONS_TOPIC, { id, from: this.origin });
  }

  private remember(record: SessionRecord): void {
    const now = Date.now();
    // lastOwnerTouch 0: the first use after a (re)load moves the session in its owner's LRU order.
    this.cache.set(record.id, { record, lastSeen: now, lastRefresh: now, lastOwnerTouch: 0 });
  }

  private sweep(): void {
    const cutoff = Date.now() - this.ttlMs;
    for (const [id, cached] of this.cache.entries()) if (cached.lastSeen < cutoff) this.cache.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.unsubscribe();
  }
}
