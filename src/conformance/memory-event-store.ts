import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';

interface StoredEvent {
  streamId: string;
  seq: number;
  message: JSONRPCMessage;
}

/**
 * An in-process event store for the direct harness, so a client that loses
 * an SSE stream can resume it with `Last-Event-ID` (SEP-1699,
 * `test_reconnection`). Event ids are `<streamId>.<seq>` with one counter per
 * store, so "after" is a number comparison. The oldest events are dropped
 * past `maxEvents`: a conformance run is short, a leak is not.
 */
export class MemoryEventStore implements EventStore {
  private readonly events = new Map<string, StoredEvent>();
  private seq = 0;

  constructor(private readonly maxEvents = 10_000) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    this.seq += 1;
    const eventId = `${streamId}.${this.seq}`;
    this.events.set(eventId, { streamId, seq: this.seq, message });
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
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error(`unknown event id ${lastEventId}`);
    // Map iteration is insertion order, which is seq order. Priming events
    // are stored as `{}`: they mark a position and are never replayed.
    for (const [eventId, event] of this.events) {
      if (event.streamId !== last.streamId || event.seq <= last.seq) continue;
      if (Object.keys(event.message).length > 0) await send(eventId, event.message);
    }
    return last.streamId;
  }
}
