import { randomBytes } from 'node:crypto';

/** How much a worker keeps for `Last-Event-ID` replay (`--replay-buffer`, `--replay-window`). */
export interface ReplayBounds {
  /** Serialized events kept, across all sessions of the worker (an estimate of their memory). */
  maxBytes: number;
  /** Events older than this are forgotten. */
  windowMs: number;
}

export const DEFAULT_REPLAY_BOUNDS: ReplayBounds = { maxBytes: 64 * 1024 * 1024, windowMs: 5 * 60_000 };

/**
 * What one event costs beyond its text: its record, map entry, timestamp and
 * share of the stream id. Measured with the demo shop: 129,202 events whose
 * text averaged 134 characters added 447 bytes each to the worker's live heap.
 */
const ENTRY_OVERHEAD_BYTES = 300;

export interface ReplayStatus {
  events: number;
  bytes: number;
  maxBytes: number;
  windowMs: number;
  forgotten: number;
  misses: number;
}

interface StoredEvent {
  /** The session's id prefix (one string per session, shared by its events). */
  session: string;
  streamId: string;
  /** The message as JSON text: one flat string, nothing for the GC to trace (the message is an object graph). */
  text: string;
  at: number;
  bytes: number;
}

/** The SDK's EventStore interface (the same in both SDK lines), for one session's transport. */
export interface SessionEventStore {
  storeEvent(streamId: string, message: unknown): Promise<string>;
  getStreamIdForEventId(eventId: string): Promise<string | undefined>;
  replayEventsAfter(
    lastEventId: string,
    handlers: { send: (eventId: string, message: never) => Promise<void> },
  ): Promise<string>;
}

/**
 * The events a worker keeps so a 2025 client can resume an SSE stream with
 * `Last-Event-ID` after a dropped connection, while this worker lives. One
 * buffer per worker, bounded in bytes and in age, oldest forgotten first:
 * the per-session count of 2,000 it replaces bounded nothing in bytes (one
 * session whose tool returns 1 MB results could hold 2 GB). Each session
 * sees only its own events (`forSession()`): an event id from another
 * session is unknown to it.
 */
export class ReplayBuffer {
  /**
   * By sequence number (a small integer key; the event id the client sees is
   * built around it). Events are forgotten oldest first only, so the ones
   * held are exactly `oldest..sequence`: they are reached by key, never by
   * iterating the map, whose deleted entries stay in its table until it is
   * rebuilt (iterating it as a queue measured 20 µs per event at 150,000).
   */
  private readonly events = new Map<number, StoredEvent>();
  private sequence = 0;
  private oldest = 1;
  private heldBytes = 0;
  /** Events dropped to stay within the bounds, since start. */
  forgotten = 0;
  /** Resumption lookups that asked for an event no longer (or never) held here, since start. */
  misses = 0;

  constructor(
    readonly bounds: ReplayBounds = DEFAULT_REPLAY_BOUNDS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.events.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** What the worker's status reports: held now, the bounds, and forgotten and missed since start. */
  status(): ReplayStatus {
    return {
      events: this.events.size,
      bytes: this.heldBytes,
      maxBytes: this.bounds.maxBytes,
      windowMs: this.bounds.windowMs,
      forgotten: this.forgotten,
      misses: this.misses,
    };
  }

  /** Forgets what is past the window now, for a worker that has gone quiet (LegacySessions' sweeper calls it). */
  sweep(): void {
    this.forgetOld(this.now());
  }

  /** An EventStore for one session's transport. Event ids read `<session prefix><sequence>_<stream id>`. */
  forSession(): SessionEventStore {
    const session = `${randomBytes(6).toString('hex')}_`;
    return {
      storeEvent: async (streamId, message) => this.store(session, streamId, message),
      // The SDK asks this first on a resumption (and answers 400 when unknown), then replays.
      getStreamIdForEventId: async (eventId) => this.resumable(session, eventId)?.event.streamId,
      replayEventsAfter: async (lastEventId, { send }) => {
        const last = this.resumable(session, lastEventId);
        if (!last) return '';
        for (let sequence = last.sequence + 1; sequence <= this.sequence; sequence++) {
          const event = this.events.get(sequence);
          if (event?.session !== session || event.streamId !== last.event.streamId) continue;
          await send(`${session}${sequence}_${event.streamId}`, JSON.parse(event.text) as never);
        }
        return last.event.streamId;
      },
    };
  }

  private store(session: string, streamId: string, message: unknown): string {
    const sequence = ++this.sequence;
    const text = flat(JSON.stringify(message) ?? 'null');
    const now = this.now();
    const bytes = text.length + ENTRY_OVERHEAD_BYTES;
    this.events.set(sequence, { session, streamId, text, at: now, bytes });
    this.heldBytes += bytes;
    this.forgetOld(now);
    return `${session}${sequence}_${streamId}`;
  }

  /** The event a resumption starts after, if this session still holds it; a miss is counted. */
  private resumable(session: string, eventId: string): { sequence: number; event: StoredEvent } | undefined {
    const separator = eventId.indexOf('_', session.length);
    const sequence = eventId.startsWith(session) ? Number(eventId.slice(session.length, separator)) : NaN;
    const event = this.events.get(sequence);
    if (
      event &&
      event.session === session &&
      event.streamId === eventId.slice(separator + 1) &&
      this.now() - event.at <= this.bounds.windowMs
    ) {
      return { sequence, event };
    }
    this.misses++;
    return undefined;
  }

  /** Oldest first, until within both bounds. */
  private forgetOld(now: number): void {
    for (; this.oldest <= this.sequence; this.oldest++) {
      const event = this.events.get(this.oldest)!;
      if (this.heldBytes <= this.bounds.maxBytes && now - event.at <= this.bounds.windowMs) return;
      this.events.delete(this.oldest);
      this.heldBytes -= event.bytes;
      this.forgotten++;
    }
  }
}

/**
 * V8 returns a longer JSON.stringify result as a rope of the chunks it was
 * built in; reading a character makes it one flat string in place. For a
 * 231-character message, kept: 424 bytes as returned, 283 flattened, 487 as
 * the message object.
 */
function flat(text: string): string {
  text.charCodeAt(text.length >> 1);
  return text;
}
