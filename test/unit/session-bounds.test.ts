import { describe, expect, it } from 'vitest';
import {
  resolveClusterConfig,
  defaultClusterConfig,
  validateClusterConfig,
} from '../../src/config/cluster-config.js';
import { LocalClusterBus } from '../../src/bus/cluster-bus.js';
import { MemorySessionBackend } from '../../src/gateway/sessions/session-backend.js';
import { SessionDirectory } from '../../src/gateway/sessions/session-directory.js';
import { replayStateBytes, type SessionRecord } from '../../src/gateway/sessions/session-record.js';
import { MemoryUserSessionIndex } from '../../src/gateway/sessions/user-sessions.js';
import { LruMap } from '../../src/util/lru-map.js';
import { SessionTable } from '../../src/worker/session-table.js';

/** Fills a table with idle sessions s0..s(n-1), oldest first. */
function idleTable(max: number, n: number): SessionTable<string> {
  const table = new SessionTable<string>(max);
  for (let i = 0; i < n; i++) {
    expect(table.reserve()).toEqual({ ok: true });
    table.add(`s${i}`, `v${i}`);
    table.release(`s${i}`);
  }
  return table;
}

describe('worker session table (LRU of idle sessions)', () => {
  it('admits up to max, then evicts the least recently used idle session', () => {
    const table = idleTable(3, 3);
    expect(table.size).toBe(3);
    const slot = table.reserve();
    expect(slot).toEqual({ ok: true, victim: { id: 's0', value: 'v0' } });
    expect(table.get('s0')).toBeUndefined();
    table.add('s3', 'v3');
    expect(table.size).toBe(3);
  });

  it('a request refreshes recency: the session used last is evicted last', () => {
    const table = idleTable(3, 3);
    table.acquire('s0');
    table.release('s0');
    const slot = table.reserve();
    expect(slot.ok && slot.victim?.id).toBe('s1');
  });

  it('never evicts a busy session (request in flight or stream open)', () => {
    const table = idleTable(2, 2);
    table.acquire('s0'); // e.g. an open GET stream
    table.acquire('s1');
    table.acquire('s1'); // two requests in flight
    table.release('s1'); // one done, one still in flight
    expect(table.isBusy('s1')).toBe(true);
    expect(table.reserve()).toEqual({ ok: false });
    expect(table.size).toBe(2);
    table.release('s1');
    const slot = table.reserve();
    expect(slot.ok && slot.victim?.id).toBe('s1');
    expect(table.get('s0')).toBe('v0');
  });

  it('counts sessions being opened, so concurrent initializes cannot overshoot', () => {
    const table = new SessionTable<string>(2);
    expect(table.reserve().ok).toBe(true);
    expect(table.reserve().ok).toBe(true);
    // Both still opening (busy, no id yet): nothing to evict.
    expect(table.reserve()).toEqual({ ok: false });
    table.unreserve(); // one initialize failed
    expect(table.reserve().ok).toBe(true);
  });

  it('a new session is busy until its initialize has been answered', () => {
    const table = new SessionTable<string>(1);
    table.reserve();
    table.add('s0', 'v0');
    expect(table.reserve()).toEqual({ ok: false });
    table.release('s0');
    expect(table.reserve()).toEqual({ ok: true, victim: { id: 's0', value: 'v0' } });
  });

  it('0 means unbounded', () => {
    const table = idleTable(0, 50);
    expect(table.reserve()).toEqual({ ok: true });
    expect(table.size).toBe(50);
  });

  it('idle sweep: only idle sessions older than the cutoff, oldest first', () => {
    const table = idleTable(0, 3);
    table.acquire('s0');
    const used: Record<string, number> = { v0: 0, v1: 10, v2: 20 };
    const swept = [...table.idleSince(15, (v) => used[v]!)].map((e) => e.id);
    expect(swept).toEqual(['s1']);
  });
});

describe('gateway session cache (LruMap)', () => {
  it('holds at most max entries and drops the least recently used', () => {
    const lru = new LruMap<string, number>(3);
    for (let i = 0; i < 3; i++) lru.set(`k${i}`, i);
    expect(lru.get('k0')).toBe(0); // k0 is now the most recent
    expect(lru.set('k3', 3)).toBe('k1');
    expect(lru.size).toBe(3);
    expect(lru.has('k1')).toBe(false);
    expect(lru.peek('k2')).toBe(2);
    for (let i = 0; i < 10_000; i++) lru.set(`x${i}`, i);
    expect(lru.size).toBe(3);
    expect([...lru.entries()].map(([k]) => k)).toEqual(['x9997', 'x9998', 'x9999']);
  });

  it('refuses a size below 1', () => {
    expect(() => new LruMap(0)).toThrow(RangeError);
  });
});

describe('per-user session index (memory mode)', () => {
  it('reports the count and the oldest candidates once over the cap', async () => {
    const index = new MemoryUserSessionIndex();
    for (let i = 0; i < 3; i++) {
      const claim = await index.claim('alice', `s${i}`, 3, 60_000);
      expect(claim).toEqual({ count: i + 1, oldest: [] });
    }
    const claim = await index.claim('alice', 's3', 3, 60_000);
    expect(claim.count).toBe(4);
    expect(claim.oldest[0]).toBe('s0');
    expect(await index.release('alice', 's0')).toBe(true);
    expect(await index.release('alice', 's0')).toBe(false); // a second gateway loses the race
    expect(await index.count('alice')).toBe(3);
    expect(await index.count('bob')).toBe(0);
  });
});

describe('session bound settings', () => {
  it('parse with their defaults, and refuse what cannot take effect', () => {
    const defaults = defaultClusterConfig();
    expect(defaults.maxSessionsPerUser).toBe(0);
    expect(defaults.maxSessionStateBytes).toBe(16 * 1024);
    expect(defaults.maxSessionsPerWorker).toBeUndefined();
    const config = resolveClusterConfig({
      command: 'serve',
      env: {},
      flags: {
        maxSessionsPerWorker: '500',
        maxSessionsPerUser: '3',
        maxSessionState: '8kb',
        sessionCacheSize: '1000',
      },
    });
    expect(config.maxSessionsPerWorker).toBe(500);
    expect(config.maxSessionsPerUser).toBe(3);
    expect(config.maxSessionStateBytes).toBe(8192);
    expect(config.sessionCacheSize).toBe(1000);
    expect(() =>
      resolveClusterConfig({ command: 'serve', env: {}, flags: { maxSessionsPerUser: '-1' } }),
    ).toThrow(/max-sessions-per-user/);
    expect(() => validateClusterConfig({ ...config, serverCmd: 'node server.js {port}' })).toThrow(
      /--max-sessions-per-worker applies to mcp-scale worker hosts/,
    );
    expect(() => validateClusterConfig({ ...config, maxSessionStateBytes: 100 })).toThrow(
      /--max-session-state/,
    );
  });

  it('replay state counts initialize params and recorded calls', () => {
    expect(replayStateBytes({ initParams: '{"a":1}', subscriptions: [] })).toBe(7 + 2);
    expect(replayStateBytes({ initParams: '{}', logLevel: 'debug', subscriptions: ['x://y'] })).toBe(
      2 + 5 + 9,
    );
  });
});

describe('re-home lock (session directory)', () => {
  it('lockAndReload takes the lock once and returns the stored record, not the cached copy', async () => {
    const backend = new MemorySessionBackend();
    const directory = new SessionDirectory(backend, new LocalClusterBus(), { ttlMs: 60_000, cacheSize: 10 });
    const record: SessionRecord = {
      id: 's1',
      worker: 'w1',
      upstream: 'w1.up',
      initParams: '{}',
      subscriptions: [],
      createdAt: Date.now(),
      version: 0,
    };
    await directory.create(record);
    // Another gateway moved it behind this one's back (its cached copy still says w1).
    expect(await backend.compareAndMove('s1', 0, 'w2', 'w2.up', 60_000)).toBe(true);

    const first = await directory.lockAndReload('s1', 'gateway-a', 5000);
    expect(first.locked).toBe(true);
    expect(first.record).toMatchObject({ worker: 'w2', upstream: 'w2.up', version: 1 });
    const lookup = await directory.get('s1');
    expect('found' in lookup && lookup.found.worker).toBe('w2'); // the cache took the fresh copy
    expect(await directory.lockAndReload('s1', 'gateway-b', 5000)).toEqual({ locked: false });

    await directory.unlock('s1', 'gateway-a');
    expect((await directory.lockAndReload('s1', 'gateway-b', 5000)).locked).toBe(true);
    // A session that ended: locked, nothing to read (the caller keeps its copy).
    expect(await directory.lockAndReload('gone', 'gateway-a', 5000)).toEqual({
      locked: true,
      record: undefined,
    });
    directory.close();
  });
});
