import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** Stops one thing; may return a promise (awaited) or nothing. */
export type Stop = () => unknown;

/** Thrown by start() once run() began: an interrupted script starts nothing more. */
export class TeardownStarted extends Error {
  constructor() {
    super('stopping: nothing more is started');
  }
}

/**
 * Stops what a performance script started, whatever way the script ends:
 * normally, on a failed start, or on Ctrl-C / SIGTERM. Private redis-servers
 * run in their own process group (a terminal's Ctrl-C never reaches them) and
 * have no parent channel to notice our death, so without this they outlive
 * an interrupted script: 9 of them once had to be killed by hand.
 *
 * Stops run newest first (a gateway before its workers, workers before
 * Redis), each one's error is swallowed so the rest still run, and run()
 * runs them once however often it is called.
 */
export class Teardown {
  private readonly stops: Stop[] = [];
  /** Starts in flight: run() waits for them, so what comes up during an interrupt is stopped too. */
  private readonly starting = new Set<Promise<unknown>>();
  private running: Promise<void> | undefined;
  private finished = false;
  private signalled = false;
  private parent: Teardown | undefined;

  /** Registers how to stop something that is running. After run() finished, stops it at once. */
  add(stop: Stop): void {
    if (this.finished) void swallow(stop);
    else this.stops.push(stop);
  }

  /**
   * Starts something and registers its stop as soon as it is up. Once run()
   * began it starts nothing and throws TeardownStarted; a start in flight
   * when run() begins is waited for, stopped, and its caller gets
   * TeardownStarted too (so the script stops where it is).
   */
  async start<T>(begin: () => Promise<T>, stop: (started: T) => unknown): Promise<T> {
    if (this.running) throw new TeardownStarted();
    const pending = begin().then((started) => {
      this.stops.push(() => stop(started));
      return started;
    });
    this.starting.add(pending);
    try {
      const started = await pending;
      if (this.running) throw new TeardownStarted();
      return started;
    } finally {
      this.starting.delete(pending);
    }
  }

  /**
   * A teardown of its own (one cluster, one round) that can be run early,
   * and that this one runs too if it is still up when this one runs.
   */
  scope(): Teardown {
    const scope = new Teardown();
    scope.parent = this;
    this.add(() => scope.run());
    return scope;
  }

  /** Stops everything registered, newest first; every call returns the same promise. */
  run(): Promise<void> {
    this.running ??= this.stopAll();
    return this.running;
  }

  /**
   * True once a signal started the teardown: the script's own error from
   * then on (a call to a stopped server) is a consequence, not news.
   */
  get interrupted(): boolean {
    return this.signalled || (this.parent?.interrupted ?? false);
  }

  /**
   * On the first SIGINT or SIGTERM: run(), then exit 128 + the signal's
   * number (130 for Ctrl-C) as a shell would report it. A second Ctrl-C
   * gets Node's default (exit at once) for a stop that hangs. Returns a
   * function that removes the handlers.
   */
  onSignals(exit: (code: number) => void = (code) => process.exit(code)): () => void {
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = () => {
        this.signalled = true;
        process.stderr.write(`${signal}: stopping what this script started…\n`);
        void this.run().finally(() => exit(128 + constants.signals[signal]));
      };
      process.once(signal, handler);
      return { signal, handler };
    });
    return () => {
      for (const { signal, handler } of handlers) process.off(signal, handler);
    };
  }

  private async stopAll(): Promise<void> {
    for (;;) {
      // The newest thing may still be starting: stop it (once up) before what it depends on.
      if (this.starting.size > 0) await Promise.allSettled([...this.starting]);
      const stop = this.stops.pop();
      if (!stop) break;
      await swallow(stop);
    }
    this.finished = true;
  }
}

async function swallow(stop: Stop): Promise<void> {
  try {
    await stop();
  } catch {
    // Already gone, or failing to stop: the others must still be stopped.
  }
}

/**
 * Stops a child process the script spawned: `signal`, then SIGKILL after
 * `killAfterMs`; resolves once it exited (at once if it already had).
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  killAfterMs = 30_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
