import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../src/worker/event-store.js';

async function replayed(store: ReturnType<ReplayBuffer['forSession']>, lastEventId: string) {
  const sent: { id: string; message: unknown }[] = [];
  const streamId = await store.replayEventsAfter(lastEventId, {
    send: async (id, message) => {
      sent.push({ id, message });
    },
  });
  return { streamId, sent };
}

describe('ReplayBuffer (Last-Event-ID resumption)', () => {
  it('replays the events after the given one, of that stream only, as the messages stored', async () => {
    const buffer = new ReplayBuffer();
    const store = buffer.forSession();
    const first = await store.storeEvent('s1', { jsonrpc: '2.0', method: 'notifications/progress' });
    await store.storeEvent('s2', { other: 'stream' });
    const second = await store.storeEvent('s1', { jsonrpc: '2.0', id: 1, result: { n: 'ü' } });
    expect(await store.getStreamIdForEventId(first)).toBe('s1');
    const { streamId, sent } = await replayed(store, first);
    expect(streamId).toBe('s1');
    expect(sent).toEqual([{ id: second, message: { jsonrpc: '2.0', id: 1, result: { n: 'ü' } } }]);
    expect(buffer.misses).toBe(0);
  });

  it("does not let one session resume another session's stream", async () => {
    const buffer = new ReplayBuffer();
    const alice = buffer.forSession();
    const mallory = buffer.forSession();
    const id = await alice.storeEvent('s1', { secret: 1 });
    await alice.storeEvent('s1', { secret: 2 });
    expect(await mallory.getStreamIdForEventId(id)).toBeUndefined();
    expect(buffer.misses).toBe(1);
    const { streamId, sent } = await replayed(mallory, id);
    expect(streamId).toBe('');
    expect(sent).toEqual([]);
    expect(buffer.misses).toBe(2);
  });

  it('stays within its byte bound by forgetting the oldest events first', async () => {
    const buffer = new ReplayBuffer({ maxBytes: 20_000, windowMs: 60_000 });
    const stores = [buffer.forSession(), buffer.forSession()];
    const ids: string[] = [];
    const payload = 'x'.repeat(1000);
    for (let i = 0; i < 100; i++) {
      ids.push(await stores[i % 2]!.storeEvent(`s${i % 2}`, { i, payload }));
      expect(buffer.bytes).toBeLessThanOrEqual(20_000);
    }
    // Each event costs its text plus a fixed overhead: about 1.3 KB, so 15 fit in 20 KB.
    expect(buffer.size).toBeGreaterThanOrEqual(10);
    expect(buffer.size).toBeLessThan(20);
    expect(buffer.forgotten + buffer.size).toBe(100);
    // The newest are the ones kept.
    const oldestKept = 100 - buffer.size;
    expect(await stores[oldestKept % 2]!.getStreamIdForEventId(ids[oldestKept]!)).toBe(`s${oldestKept % 2}`);
    expect(await stores[(oldestKept - 1) % 2]!.getStreamIdForEventId(ids[oldestKept - 1]!)).toBeUndefined();
    expect(buffer.misses).toBe(1);
  });

  it('after thousands forgotten, holds exactly the newest and replays them in order', async () => {
    // The last events' text, {"i":4950} to {"i":4999}, is 10 characters: each counts 10 + 300 bytes.
    const buffer = new ReplayBuffer({ maxBytes: 50 * 310, windowMs: 60_000 });
    const store = buffer.forSession();
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(await store.storeEvent('s1', { i }));
    expect(buffer.size).toBe(50);
    expect(buffer.forgotten).toBe(4950);
    expect(await store.getStreamIdForEventId(ids[4949]!)).toBeUndefined();
    const { sent } = await replayed(store, ids[4950]!);
    expect(sent.map((event) => (event.message as { i: number }).i)).toEqual(
      Array.from({ length: 49 }, (_, n) => 4951 + n),
    );
    expect(sent.map((event) => event.id)).toEqual(ids.slice(4951));
  });

  it('forgets events past the window, on the next store or on a sweep, and counts a late resumption as a miss', async () => {
    let now = 1_000_000;
    const buffer = new ReplayBuffer({ maxBytes: 1_000_000, windowMs: 30_000 }, () => now);
    const store = buffer.forSession();
    const old = await store.storeEvent('s1', { n: 1 });
    now += 20_000;
    const recent = await store.storeEvent('s1', { n: 2 });
    expect(buffer.size).toBe(2);

    now += 15_000; // the first is 35 s old, the second 15 s
    expect((await replayed(store, old)).streamId).toBe('');
    expect(buffer.misses).toBe(1);
    buffer.sweep();
    expect(buffer.size).toBe(1);
    expect(buffer.forgotten).toBe(1);
    expect(await store.getStreamIdForEventId(recent)).toBe('s1');

    now += 30_001;
    await store.storeEvent('s1', { n: 3 });
    expect(buffer.size).toBe(1);
    expect(buffer.forgotten).toBe(2);
  });
});
