import { randomBytes } from 'node:crypto';

type Message = unknown;

interface StoredEvent {
  streamId: string;
  message: Message;
}

/**
 * An in-memory EventStore for one worker, so a 2025 client can resume an SSE
 * stream with `Last-Event-ID` after a dropped connection — while the worker
 * that produced the events lives. Bounded: the oldest events are forgotten
 * first. Works with the transports of both SDK lines (same interface).
 */
export class MemoryEventStore {
  private readonly events = new Map<string, StoredEvent>();
  private counter = 0;
  private readonly prefix = randomBytes(4).toString('hex');

  constructor(private readonly maxEvents = 10_000) {}

  async storeEvent(streamId: string, message: Message): Promise<string> {
    const eventId = `${this.prefix}_${++this.counter}_${streamId}`;
    this.events.set(eventId, { streamId, message });
    if (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: never) => Promise<void> },
  ): Promise<string> {
    const last = this.events.get(lastEventId);
    if (!last) return '';
    let found = false;
    for (const [eventId, event] of this.events) {
      if (eventId === lastEventId) {
        found = true;
        continue;
      }
      if (found && event.streamId === last.streamId) await send(eventId, event.message as never);
    }
    return last.streamId;
  }
}
