import type { RedisClient } from '../../redis/connection.js';
import type { KeySchema } from '../../redis/keys.js';
import { scanKeys } from '../../redis/scan.js';
import { fromHash, toHash, type SessionRecord } from './session-record.js';

/** Where session records live: Redis (shared by gateways) or this process (single node). */
export interface SessionBackend {
  readonly shared: boolean;
  available(): boolean;
  load(id: string): Promise<SessionRecord | undefined>;
  save(record: SessionRecord, ttlMs: number): Promise<void>;
  /** Moves a session if its version is still `expectedVersion`; false when someone else moved it first. */
  compareAndMove(
    id: string,
    expectedVersion: number,
    worker: string,
    upstream: string,
    ttlMs: number,
  ): Promise<boolean>;
  patch(id: string, fields: Partial<Pick<SessionRecord, 'logLevel' | 'subscriptions'>>): Promise<void>;
  touch(id: string, ttlMs: number): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** A short exclusive lock so only one gateway re-homes a session at a time. */
  lock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * lock(), and when it is taken, the session's record as it is now, read
   * in the same round trip (after the lock where both share a connection).
   * `record` is undefined when the session is gone or could not be read.
   */
  lockAndLoad(
    name: string,
    owner: string,
    ttlMs: number,
  ): Promise<{ locked: false } | { locked: true; record: SessionRecord | undefined }>;
  unlock(name: string, owner: string): Promise<void>;
  list(): AsyncGenerator<SessionRecord>;
}

const MOVE_SCRIPT = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'w', ARGV[2], 'u', ARGV[3], 'v', tostring(tonumber(v) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisSessionBackend implements SessionBackend {
  readonly shared = true;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  available(): boolean {
    return this.redis.status === 'ready';
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys.session(id));
    return fromHash(id, hash);
  }

  async save(record: SessionRecord, ttlMs: number): Promise<void> {
    const key = this.keys.session(record.id);
    await this.redis.multi().del(key).hset(key, toHash(record)).pexpire(key, ttlMs).exec();
  }

  async compareAndMove(id: string, expectedVersion: number, worker: string, upstream: string, ttlMs: number) {
    const result = await this.redis.eval(
      MOVE_SCRIPT,
      1,
      this.keys.session(id),
      String(expectedVersion),
      worker,
      upstream,
      ttlMs,
    );
    return result === 1;
  }

  async patch(id: string, fields: Partial<Pick<SessionRecord, 'logLevel' | 'subscriptions'>>): Promise<void> {
    const hash: Record<string, string> = {};
    if (fields.logLevel !== undefined) hash.l = fields.logLevel;
    if (fields.subscriptions !== undefined) hash.s = JSON.stringify(fields.subscriptions);
    if (Object.keys(hash).length > 0) await this.redis.hset(this.keys.session(id), hash);
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.keys.session(id), ttlMs);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.del(this.keys.session(id))) > 0;
  }

  async lock(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.rehomeLock(name), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async lockAndLoad(name: string, owner: string, ttlMs: number) {
    // Sent together, one round trip. On one connection Redis runs the read
    // after the lock; on a Cluster (the two keys may live on different nodes)
    // a move slipping in between is caught by compareAndMove's version check.
    const [taken, hash] = await Promise.all([
      this.redis.set(this.keys.rehomeLock(name), owner, 'PX', ttlMs, 'NX'),
      // Unreadable is reported as unknown: the caller keeps the copy it has.
      this.redis.hgetall(this.keys.session(name)).catch(() => undefined),
    ]);
    if (taken !== 'OK') return { locked: false as const };
    return { locked: true as const, record: hash ? fromHash(name, hash) : undefined };
  }

  async unlock(name: string, owner: string): Promise<void> {
    await this.redis.eval(UNLOCK_SCRIPT, 1, this.keys.rehomeLock(name), owner);
  }

  async *list(): AsyncGenerator<SessionRecord> {
    for await (const key of scanKeys(this.redis, this.keys.sessionPattern())) {
      const id = this.keys.sessionIdFromKey(key);
      const record = await this.load(id);
      if (record) yield record;
    }
  }
}

/** Single-node mode: records live in the gateway's memory, with the same TTL semantics. */
export class MemorySessionBackend implements SessionBackend {
  readonly shared = false;
  private readonly records = new Map<string, { record: SessionRecord; expiresAt: number }>();
  private readonly locks = new Map<string, { owner: string; expiresAt: number }>();

  available(): boolean {
    return true;
  }

  private live(id: string) {
    const entry = this.records.get(id);
    if (entry && entry.expiresAt <= Date.now()) {
      this.records.delete(id);
      return undefined;
    }
    return entry;
  }

  async load(id: string) {
    const entry = this.live(id);
    return entry ? structuredClone(entry.record) : undefined;
  }

  async save(record: SessionRecord, ttlMs: number) {
    this.records.set(record.id, { record: structuredClone(record), expiresAt: Date.now() + ttlMs });
    if (this.records.size % 1000 === 0) this.sweep();
  }

  async compareAndMove(id: string, expectedVersion: number, worker: string, upstream: string, ttlMs: number) {
    const entry = this.live(id);
    if (!entry || entry.record.version !== expectedVersion) return false;
    Object.assign(entry.record, { worker, upstream, version: expectedVersion + 1 });
    entry.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async patch(id: string, fields: Partial<Pick<SessionRecord, 'logLevel' | 'subscriptions'>>) {
    const entry = this.live(id);
    if (entry) Object.assign(entry.record, fields);
  }

  async touch(id: string, ttlMs: number) {
    const entry = this.live(id);
    if (entry) entry.expiresAt = Date.now() + ttlMs;
  }

  async remove(id: string) {
    return this.records.delete(id);
  }

  async lock(name: string, owner: string, ttlMs: number) {
    const held = this.locks.get(name);
    if (held && held.expiresAt > Date.now()) return false;
    this.locks.set(name, { owner, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async lockAndLoad(name: string, owner: string, ttlMs: number) {
    if (!(await this.lock(name, owner, ttlMs))) return { locked: false as const };
    return { locked: true as const, record: await this.load(name) };
  }

  async unlock(name: string, owner: string) {
    if (this.locks.get(name)?.owner === owner) this.locks.delete(name);
  }

  async *list() {
    for (const id of [...this.records.keys()]) {
      const record = await this.load(id);
      if (record) yield record;
    }
  }

  private sweep() {
    const now = Date.now();
    for (const [id, entry] of this.records) if (entry.expiresAt <= now) this.records.delete(id);
  }
}
