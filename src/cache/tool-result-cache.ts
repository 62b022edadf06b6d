import type { ClusterBusLike } from '../worker/server-module.js';
import type { KeySchema } from '../redis/keys.js';
import { isCacheableResult, parseEntry, serializeEntry, type ArgumentPattern } from './cache-entry.js';
import { argumentsHash, encodeSegment, entryKey, eraOf, type CacheScope } from './cache-key.js';
import { decideTool, type CacheSettings } from './cache-policy.js';
import type { CacheCounts, CacheStore } from './cache-store.js';
import { invalidateEntries, type InvalidationResult } from './invalidation.js';
import { SingleFlight, type FlightOutcome } from './single-flight.js';
import { StoreGuard } from './store-guard.js';
import { ToolAnnotations } from './tool-annotations.js';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

/** Bus topics: a fill wakes waiters early; an invalidation reaches other workers' memory stores. */
export const CACHE_FILLED_TOPIC = 'cache-filled';
export const CACHE_INVALIDATE_TOPIC = 'cache-invalidate';

export interface ToolResultCacheOptions {
  settings: CacheSettings;
  store: CacheStore;
  keys: KeySchema;
  bus?: ClusterBusLike;
  /** Single-flight lock lifetime; renewed while the backend call runs. Default 3 s. */
  lockTtlMs?: number;
  /** How long a waiter waits for another worker's result before calling the backend itself. Default 5 s. */
  lockWaitMs?: number;
  /** After a Redis error or timeout, skip the store this long (no 50 ms tax per call meanwhile). Default 1 s. */
  breakerMs?: number;
  /** How often counters go to Redis for `cache stats`. Default 1 s. */
  statsFlushMs?: number;
}

/** One tools/call as the transport tap sees it. */
export interface ToolCall {
  tool: string;
  args: Record<string, unknown>;
  user: string | undefined;
  era: 'legacy' | 'modern';
}

/** What to do with a call: answer it from the cache, or send it to the server and report back. */
export type CallPlan =
  | { kind: 'hit'; outcome: 'hit'; result: Record<string, unknown> }
  | { kind: 'fetch'; outcome: 'miss' | 'bypass'; finish(result: unknown): void; abandon(): void };

/**
 * The tool-result cache of one worker: decides per call (policy), looks up,
 * coalesces identical misses across workers (single-flight), stores what may
 * be stored, and never lets the store fail or slow a call beyond the timeout.
 */
export class ToolResultCache {
  readonly annotations = new ToolAnnotations();
  /** Called once per call of a cached tool with its outcome (the worker's /metrics). */
  onOutcome?: (tool: string, outcome: CacheOutcome) => void;
  readonly settings: CacheSettings;
  private readonly store: CacheStore;
  private readonly keys: KeySchema;
  private readonly guard: StoreGuard;
  private readonly flights: SingleFlight;
  private readonly counts = new Map<string, CacheCounts>();
  private readonly statsTimer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: ToolResultCacheOptions) {
    this.settings = options.settings;
    this.store = options.store;
    this.keys = options.keys;
    this.guard = new StoreGuard(options.settings.timeoutMs, options.breakerMs ?? 1000);
    this.flights = new SingleFlight({
      store: this.store,
      guard: this.guard,
      // Short, renewed every third while the call runs: a worker that dies holding
      // it stalls that key for at most this long.
      lockTtlMs: options.lockTtlMs ?? 1500,
      lockWaitMs: options.lockWaitMs ?? 5000,
    });
    const bus = options.bus;
    if (bus && this.store.shared) {
      this.unsubscribe.push(
        bus.subscribe(CACHE_FILLED_TOPIC, (message) =>
          this.flights.wake(String((message as { key?: unknown }).key)),
        ),
      );
    }
    if (bus && !this.store.shared) {
      // Memory mode: every worker has its own entries; invalidations travel by bus.
      this.unsubscribe.push(
        bus.subscribe(CACHE_INVALIDATE_TOPIC, (message) => {
          const filter = message as {
            tool?: string;
            user?: string;
            args?: Record<string, unknown>;
            exactArgs?: Record<string, unknown>;
          };
          void invalidateEntries(this.store, this.keys, filter).catch(() => {});
        }),
      );
    }
    this.statsTimer = setInterval(() => void this.flushStats(), options.statsFlushMs ?? 1000);
    this.statsTimer.unref();
  }

  /**
   * Decides without I/O whether a call is the cache's business at all.
   * false (no TTL, not read-only, a multi-round-trip continuation): the tap
   * delivers it synchronously, untouched and unmarked.
   */
  wants(tool: string, params: Record<string, unknown>): boolean {
    if ('inputResponses' in params || 'requestState' in params || 'task' in params) return false;
    return decideTool(this.settings, tool, this.annotations.readOnlyHint(tool)).cache;
  }

  /** Looks the call up; never throws, never waits on the store longer than the timeout (per round trip). */
  async plan(call: ToolCall): Promise<CallPlan> {
    const verdict = decideTool(this.settings, call.tool, this.annotations.readOnlyHint(call.tool));
    if (!verdict.cache) return this.direct(call.tool, 'miss');
    let scope: CacheScope = { kind: 'public' };
    if (verdict.decision.scope === 'user') {
      // Per-user results without a user would be shared by every anonymous caller: never.
      if (call.user === undefined) return this.direct(call.tool, 'bypass');
      scope = { kind: 'user', user: call.user };
    }
    const key = entryKey(this.keys, {
      tool: call.tool,
      scope,
      era: eraOf(call.era),
      hash: argumentsHash(call.args),
    });
    let outcome: FlightOutcome;
    try {
      outcome = await this.flights.lookup(key, this.keys.cacheLock(key));
    } catch {
      return this.direct(call.tool, 'bypass');
    }
    if (outcome.kind === 'hit') {
      const entry = parseEntry(outcome.value);
      if (entry) {
        this.count(call.tool, 'hit');
        return { kind: 'hit', outcome: 'hit', result: entry.result };
      }
      return this.direct(call.tool, 'miss');
    }
    if (outcome.kind === 'fetch-uncached') return this.direct(call.tool, 'miss');
    this.count(call.tool, 'miss');
    const ttlMs = verdict.decision.ttlMs;
    const flight = outcome.flight;
    return {
      kind: 'fetch',
      outcome: 'miss',
      finish: (result) => {
        const text = isCacheableResult(result)
          ? serializeEntry({ v: 1, tool: call.tool, args: call.args, result, storedAt: Date.now() })
          : undefined;
        if (text === undefined) return void flight.fail(true);
        void flight.store(text, ttlMs).then((stored) => {
          if (stored && this.store.shared) this.options.bus?.publish(CACHE_FILLED_TOPIC, { key });
        });
      },
      abandon: () => void flight.fail(false),
    };
  }

  /**
   * Removes entries of a tool (optionally one user's, optionally only those
   * whose arguments match a pattern), e.g. after a write made them stale.
   * In memory mode the other workers are told over the cluster bus.
   */
  async invalidate(filter: {
    tool: string;
    user?: string;
    args?: ArgumentPattern;
    exactArgs?: Record<string, unknown>;
  }): Promise<InvalidationResult> {
    if (!this.store.shared && typeof filter.args !== 'function') {
      this.options.bus?.publish(CACHE_INVALIDATE_TOPIC, filter);
    }
    try {
      return await invalidateEntries(this.store, this.keys, filter);
    } catch {
      return { matched: 0, removed: 0 };
    }
  }

  /** Flushes counters and stops timers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.statsTimer);
    for (const stop of this.unsubscribe) stop();
    this.flights.close();
    await this.flushStats();
  }

  private direct(tool: string, outcome: 'miss' | 'bypass'): CallPlan {
    this.count(tool, outcome);
    return { kind: 'fetch', outcome, finish: () => {}, abandon: () => {} };
  }

  private count(tool: string, outcome: CacheOutcome): void {
    let counts = this.counts.get(tool);
    if (!counts) {
      counts = { hit: 0, miss: 0, bypass: 0 };
      this.counts.set(tool, counts);
    }
    counts[outcome]++;
    this.onOutcome?.(tool, outcome);
  }

  /** Counters go to Redis in one batch a second, never on the call's path. */
  private async flushStats(): Promise<void> {
    const pending = [...this.counts.entries()];
    this.counts.clear();
    await Promise.all(
      pending.map(([tool, counts]) =>
        this.store.addStats(this.keys.cacheStats(encodeSegment(tool)), counts).catch(() => {}),
      ),
    );
  }
}
