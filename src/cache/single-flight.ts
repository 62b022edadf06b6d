import { randomBytes } from 'node:crypto';
import { inSpan } from '../telemetry/mcp-spans.js';
import { UNCACHEABLE, type CacheStore } from './cache-store.js';
import type { StoreGuard } from './store-guard.js';

/** The backend call one lock holder makes for everyone waiting on the same entry. */
export interface Flight {
  /** Stores the value and lets go of the lock; false when the store failed. */
  store(value: string, ttlMs: number): Promise<boolean>;
  /**
   * No value to share. `uncacheable` (an error result) tells waiters to call
   * the backend themselves at once; otherwise (the caller went away) one of
   * them takes the lock and tries.
   */
  fail(uncacheable: boolean): Promise<void>;
}

export type FlightOutcome =
  | { kind: 'hit'; value: string }
  /** This caller holds the lock: call the backend, then store() or fail(). */
  | { kind: 'fetch'; flight: Flight }
  /** Call the backend and store nothing (the holder's result was uncacheable, or waiting timed out). */
  | { kind: 'fetch-uncached' };

export interface SingleFlightOptions {
  store: CacheStore;
  guard: StoreGuard;
  lockTtlMs: number;
  lockWaitMs: number;
}

/** A holder renews its lock for at most this long (a backend call that never answers must not pin it). */
const MAX_HOLD_MS = 300_000;

/**
 * Concurrent identical misses cause one backend call: within a worker the
 * first caller leads and the others await it; across workers a short Redis
 * lock (`SET NX PX`, renewed while the call runs) elects the holder and the
 * others poll for its value (woken early by a bus message), bounded by
 * lockWaitMs, after which they call the backend themselves.
 */
export class SingleFlight {
  private readonly leaders = new Map<string, Promise<string | undefined>>();
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly renewals = new Set<NodeJS.Timeout>();

  constructor(private readonly options: SingleFlightOptions) {}

  /** Throws StoreUnavailable when the store is slow or failing (the caller bypasses the cache). */
  async lookup(key: string, lockKey: string): Promise<FlightOutcome> {
    const leader = this.leaders.get(key);
    if (leader) {
      // Another call in this worker is fetching the same entry: wait for its value.
      return inSpan('single-flight wait', { 'mcp_scale.cache.wait': 'worker' }, async (span) => {
        const value = await this.bounded(leader);
        span.setAttribute('mcp_scale.cache.wait.result', value === undefined ? 'fetch' : 'hit');
        return value === undefined ? { kind: 'fetch-uncached' } : { kind: 'hit', value };
      });
    }
    let settle!: (value: string | undefined) => void;
    const promise = new Promise<string | undefined>((resolve) => (settle = resolve));
    this.leaders.set(key, promise);
    const done = (value: string | undefined) => {
      if (this.leaders.get(key) === promise) this.leaders.delete(key);
      settle(value);
    };
    try {
      const outcome = await this.acquire(key, lockKey);
      if (outcome.kind === 'hit') done(outcome.value);
      else if (outcome.kind === 'fetch-uncached') done(undefined);
      else return { kind: 'fetch', flight: this.sharing(outcome.flight, done) };
      return outcome;
    } catch (error) {
      done(undefined);
      throw error;
    }
  }

  /** A fill elsewhere: waiters on this key look again now instead of at their next poll. */
  wake(key: string): void {
    const waiting = this.wakers.get(key);
    if (!waiting) return;
    this.wakers.delete(key);
    for (const wake of waiting) wake();
  }

  close(): void {
    for (const timer of this.renewals) clearInterval(timer);
    this.renewals.clear();
    for (const key of [...this.wakers.keys()]) this.wake(key);
  }

  private async acquire(key: string, lockKey: string): Promise<FlightOutcome> {
    const { store, guard, lockTtlMs } = this.options;
    const value = await guard.run(() => store.get(key));
    if (value !== undefined) return { kind: 'hit', value };
    const token = randomBytes(12).toString('base64url');
    if (await this.tryLock(lockKey, token, lockTtlMs)) return this.holding(key, lockKey, token);
    // Another worker holds the lock: wait for its value (or its lock to go).
    return inSpan('single-flight wait', { 'mcp_scale.cache.wait': 'cluster' }, async (span) => {
      const outcome = await this.waitForFill(key, lockKey, token);
      span.setAttribute('mcp_scale.cache.wait.result', outcome.kind);
      return outcome;
    });
  }

  /**
   * SET NX under the cache timeout. When the answer comes too late, Redis may
   * still have granted the lock to a caller that already gave up: release it
   * the moment that is known, or every other caller of the key would wait
   * for the lock to expire.
   */
  private async tryLock(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    const { store, guard } = this.options;
    const locking = store.lock(lockKey, token, ttlMs);
    try {
      return await guard.run(() => locking);
    } catch (error) {
      locking.then((granted) => (granted ? store.release(lockKey, token, false) : undefined)).catch(() => {});
      throw error;
    }
  }

  /** Lets go of a lock in the background, whatever the cache timeout says. */
  private releaseLater(lockKey: string, token: string, uncacheable = false): void {
    this.options.store.release(lockKey, token, uncacheable).catch(() => {});
  }

  /** Holding the lock: look once more (a holder may have just finished), then fetch with renewals. */
  private async holding(key: string, lockKey: string, token: string): Promise<FlightOutcome> {
    const { store, guard } = this.options;
    let value: string | undefined;
    try {
      value = await guard.run(() => store.get(key));
    } catch (error) {
      this.releaseLater(lockKey, token);
      throw error;
    }
    if (value !== undefined) {
      this.releaseLater(lockKey, token);
      return { kind: 'hit', value };
    }
    const stop = this.renewWhileHeld(lockKey, token);
    return {
      kind: 'fetch',
      flight: {
        store: async (text, ttlMs) => {
          stop();
          try {
            await guard.run(() => store.set(key, text, ttlMs));
            return true;
          } catch {
            return false;
          } finally {
            // Released whether or not the value was stored: waiters then look
            // again (and fetch themselves) instead of waiting out the lock.
            this.releaseLater(lockKey, token);
          }
        },
        fail: async (uncacheable) => {
          stop();
          this.releaseLater(lockKey, token, uncacheable);
        },
      },
    };
  }

  /** Renews the lock every third of its lifetime until stopped (or MAX_HOLD_MS); returns stop. */
  private renewWhileHeld(lockKey: string, token: string): () => void {
    const { store, guard, lockTtlMs } = this.options;
    const started = Date.now();
    const renewal = setInterval(
      () => {
        if (Date.now() - started > MAX_HOLD_MS) stop();
        else void guard.run(() => store.renew(lockKey, token, lockTtlMs)).catch(() => {});
      },
      Math.max(50, Math.floor(lockTtlMs / 3)),
    );
    renewal.unref();
    this.renewals.add(renewal);
    function stop() {
      clearInterval(renewal);
    }
    return () => {
      stop();
      this.renewals.delete(renewal);
    };
  }

  private async waitForFill(key: string, lockKey: string, token: string): Promise<FlightOutcome> {
    const { store, guard, lockTtlMs, lockWaitMs } = this.options;
    const deadline = Date.now() + lockWaitMs;
    let interval = 5;
    while (Date.now() < deadline) {
      await this.sleepOrWake(key, Math.min(interval, deadline - Date.now()));
      interval = Math.min(interval * 1.5, 50);
      const value = await guard.run(() => store.get(key));
      if (value !== undefined) return { kind: 'hit', value };
      const holder = await guard.run(() => store.lockValue(lockKey));
      if (holder === UNCACHEABLE) return { kind: 'fetch-uncached' };
      if (holder === undefined && (await this.tryLock(lockKey, token, lockTtlMs))) {
        // The holder went away without a value: this waiter fetches for the rest.
        return this.holding(key, lockKey, token);
      }
    }
    return { kind: 'fetch-uncached' };
  }

  /** Local followers learn the leader's value the moment it has one, before it is stored. */
  private sharing(flight: Flight, done: (value: string | undefined) => void): Flight {
    return {
      store: (value, ttlMs) => {
        done(value);
        return flight.store(value, ttlMs);
      },
      fail: (uncacheable) => {
        done(undefined);
        return flight.fail(uncacheable);
      },
    };
  }

  private bounded(leader: Promise<string | undefined>): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.options.lockWaitMs);
    });
    return Promise.race([leader, timeout]).finally(() => clearTimeout(timer));
  }

  private sleepOrWake(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiting = this.wakers.get(key);
      if (!waiting) {
        waiting = new Set();
        this.wakers.set(key, waiting);
      }
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.wakers.get(key) === waiting) this.wakers.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      waiting.add(wake);
    });
  }
}
