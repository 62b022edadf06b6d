import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';

/**
 * The bounds of one run: a clock, a deadline, an iteration budget, a
 * graceful stop (no new iterations) and a hard stop (abort what is still
 * running). Every wait in the load models goes through `sleepUntil`, so a
 * stop wakes them at once.
 */
export class RunControl {
  private readonly origin = performance.now();
  private readonly hard = new AbortController();
  private stopWaiters = new Set<() => void>();
  private remaining: number;
  private stopped = false;
  /** Iterations that could not start (open model: no free virtual user). */
  dropped = 0;
  /** Requests that completed after the hard stop (not recorded). */
  interrupted = 0;

  constructor(
    /** ms since start after which no iteration starts; Infinity = none. */
    public deadlineMs: number,
    iterations: number | undefined,
  ) {
    this.remaining = iterations ?? Number.POSITIVE_INFINITY;
    // Every in-flight request listens on this one signal.
    setMaxListeners(0, this.hard.signal);
  }

  /** ms since the run started. */
  readonly clock = (): number => performance.now() - this.origin;

  get signal(): AbortSignal {
    return this.hard.signal;
  }

  get stopping(): boolean {
    return this.stopped || this.clock() >= this.deadlineMs || this.remaining <= 0;
  }

  get aborted(): boolean {
    return this.hard.signal.aborted;
  }

  /**
   * Takes one iteration from the budget; false once the run is over. The
   * open model passes `scheduled`: its arrivals all fall before the end of
   * the schedule, and a late timer must not silently lose one.
   */
  tryStartIteration(scheduled = false): boolean {
    if (scheduled ? this.stopped || this.remaining <= 0 : this.stopping) return false;
    this.remaining -= 1;
    return true;
  }

  /** No new iterations (Ctrl-C, or a scenario that is done). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const wake of this.stopWaiters) wake();
    this.stopWaiters.clear();
  }

  /** Abort requests still running. */
  abort(): void {
    this.stop();
    this.hard.abort(new Error('bench stopped'));
  }

  /**
   * Waits until `atMs` (ms since start) and says why it woke: `due` (the
   * time came), `deadline` (the run's end came first) or `stopped`.
   *
   * Node's timers count whole milliseconds of the event loop's clock, so a
   * timer for a fractional wait fires up to ~2 ms before the precise clock
   * says it is due. A wait that woke early is re-armed for the rest, and
   * callers act on the reason, never on the clock: reading an early wake as
   * "the run is over" once made users leave a think-time run one by one
   * (59 iterations instead of 380, with 0 errors).
   */
  async sleepUntil(atMs: number): Promise<WakeReason> {
    for (;;) {
      if (this.stopped) return 'stopped';
      const now = this.clock();
      if (now >= atMs) return 'due';
      if (now >= this.deadlineMs) return 'deadline';
      await this.waitAtMost(Math.min(atMs, this.deadlineMs) - now);
    }
  }

  /** One timer (or, unbounded, only a stop) ends this wait. */
  private waitAtMost(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        this.stopWaiters.delete(wake);
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(wake, Math.ceil(ms)) : undefined;
      this.stopWaiters.add(wake);
    });
  }

  /** Resolves when no new iteration may start because of the deadline or a stop. */
  async untilStopping(): Promise<void> {
    await this.sleepUntil(Number.POSITIVE_INFINITY);
  }

  /** Waits for `work` up to `graceMs`, then aborts what is left and waits for it to unwind. */
  async drain(work: Promise<unknown>, graceMs: number): Promise<void> {
    if ((await settleWithin(work, graceMs)) === 'done') return;
    this.abort();
    // Aborted requests unwind at once; never let a stuck one hold the run open.
    await settleWithin(work, UNWIND_MS);
  }
}

export type WakeReason = 'due' | 'deadline' | 'stopped';

const UNWIND_MS = 2000;

async function settleWithin(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([work.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
