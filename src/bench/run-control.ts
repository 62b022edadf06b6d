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

  /** Resolves at `atMs` (ms since start), at the deadline, or on stop, whichever is first. */
  sleepUntil(atMs: number): Promise<void> {
    const wait = Math.min(atMs, this.deadlineMs) - this.clock();
    if (wait <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        this.stopWaiters.delete(wake);
        resolve();
      };
      // An unbounded wait (no deadline) ends only on stop.
      const timer = Number.isFinite(wait) ? setTimeout(wake, wait) : undefined;
      this.stopWaiters.add(wake);
    });
  }

  /** Resolves when no new iteration may start because of the deadline or a stop. */
  untilStopping(): Promise<void> {
    return this.sleepUntil(Number.POSITIVE_INFINITY);
  }

  /** Waits for `work` up to `graceMs`, then aborts what is left and waits for it to unwind. */
  async drain(work: Promise<unknown>, graceMs: number): Promise<void> {
    if ((await settleWithin(work, graceMs)) === 'done') return;
    this.abort();
    // Aborted requests unwind at once; never let a stuck one hold the run open.
    await settleWithin(work, UNWIND_MS);
  }
}

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
