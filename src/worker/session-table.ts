/**
 * The worker's live-session table, bounded: at most `max` sessions (0 =
 * unbounded). A session is busy while it has a request in flight or an open
 * stream (callers bracket each exchange with acquire/release); only idle
 * sessions are kept in least-recently-used order and may be evicted to make
 * room for a new one. A busy session is never chosen, so eviction never cuts
 * a stream or a call. When every slot is busy, a new session is refused.
 *
 * Both maps are insertion-ordered Maps: the idle map's first key is the least
 * recently used idle session, so admission is O(1) however many sessions are
 * busy.
 */
interface Entry<T> {
  id: string;
  value: T;
  busy: number;
}

export type Reservation<T> =
  /** Room was made: `victim` (if any) was removed from the table and must be closed by the caller. */
  | { ok: true; victim?: { id: string; value: T } }
  /** Full, and every session is busy. */
  | { ok: false };

export class SessionTable<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly idle = new Map<string, Entry<T>>();
  /** Sessions being opened (initialize in progress): they hold a slot before they have an id. */
  private reserved = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  get idleCount(): number {
    return this.idle.size;
  }

  get(id: string): T | undefined {
    return this.entries.get(id)?.value;
  }

  values(): T[] {
    return [...this.entries.values()].map((entry) => entry.value);
  }

  /** Takes a slot for a session about to be opened, evicting the least recently used idle one if needed. */
  reserve(): Reservation<T> {
    if (this.max <= 0 || this.entries.size + this.reserved < this.max) {
      this.reserved++;
      return { ok: true };
    }
    const oldest = this.idle.values().next();
    if (oldest.done) return { ok: false };
    const victim = oldest.value;
    this.delete(victim.id);
    this.reserved++;
    return { ok: true, victim: { id: victim.id, value: victim.value } };
  }

  /** The session being opened did not come about (initialize refused): give its slot back. */
  unreserve(): void {
    if (this.reserved > 0) this.reserved--;
  }

  /** Fills a reserved slot; the new session is busy (its initialize is still being answered). */
  add(id: string, value: T): void {
    this.unreserve();
    this.entries.set(id, { id, value, busy: 1 });
  }

  /** A request or stream starts on the session: it cannot be evicted until release(). */
  acquire(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.busy++;
    this.idle.delete(id);
    return entry.value;
  }

  /** The request or stream ended; once nothing is open, the session is the most recently used idle one. */
  release(id: string): void {
    const entry = this.entries.get(id);
    if (!entry || entry.busy === 0) return;
    entry.busy--;
    if (entry.busy === 0) this.idle.set(id, entry);
  }

  /** Whether the session has a request in flight or an open stream. */
  isBusy(id: string): boolean {
    return (this.entries.get(id)?.busy ?? 0) > 0;
  }

  delete(id: string): boolean {
    this.idle.delete(id);
    return this.entries.delete(id);
  }

  /** Idle sessions not used since `cutoff` (for the idle-timeout sweeper), oldest first. */
  *idleSince(cutoff: number, lastActivity: (value: T) => number): Generator<{ id: string; value: T }> {
    for (const entry of [...this.idle.values()]) {
      if (lastActivity(entry.value) >= cutoff) return;
      yield { id: entry.id, value: entry.value };
    }
  }
}
