import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BenchEvents, BenchTickEvent } from '../engine.js';
import { totalDurationMs } from '../load-profile.js';
import type { LiveSnapshot } from '../metrics.js';
import { mergeReports } from '../merge/merge-reports.js';
import type { BenchReport } from '../report-schema.js';
import type { TimelineBucket } from '../timeline.js';
import type { BenchOptions, BenchTarget } from '../types.js';
import type { FromWorker, ToWorker } from './messages.js';
import { splitOptions } from './split-options.js';

/**
 * `--procs N`: runs the bench in N worker threads and reports it as one.
 * It emits the same events as BenchEngine, so the dashboard and the plain
 * progress show the sum of every process live; the final report is the
 * exact merge of the processes' reports (merge-reports.ts), and `parts`
 * keeps those for anyone who wants to check the sum.
 */
export class ProcsEngine {
  private readonly events = new EventEmitter();
  private readonly workers: Worker[] = [];
  private readonly latest = new Map<number, BenchTickEvent>();
  private stopped = false;
  /** Each process's own report, once the run is over. */
  parts: BenchReport[] = [];

  constructor(
    readonly options: BenchOptions,
    readonly target: BenchTarget,
    readonly procs: number,
  ) {}

  on<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  private emit<K extends keyof BenchEvents>(event: K, payload: BenchEvents[K]): void {
    this.events.emit(event, payload);
  }

  /** Graceful stop of every process. */
  stop(): void {
    this.stopped = true;
    for (const worker of this.workers) worker.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  async run(): Promise<BenchReport> {
    const { options, target } = this;
    const model = options.model;
    const plannedMs =
      model.kind === 'open'
        ? totalDurationMs(model.stages)
        : model.stages
          ? totalDurationMs(model.stages)
          : options.durationMs;
    this.emit('start', { options, target, startedAt: new Date(), plannedMs });
    const ticker = setInterval(() => {
      const tick = this.combinedTick();
      if (tick) this.emit('tick', tick);
    }, options.tickMs);
    try {
      this.parts = await Promise.all(
        splitOptions(options, this.procs).map((part, i) => this.runPart(part, i)),
      );
    } finally {
      clearInterval(ticker);
      await Promise.all(this.workers.map((worker) => worker.terminate()));
    }
    const report = mergeReports(this.parts);
    this.emit('done', report);
    return report;
  }

  private runPart(options: BenchOptions, index: number): Promise<BenchReport> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerEntry(), { workerData: { options, target: this.target } });
      this.workers.push(worker);
      if (this.stopped) worker.postMessage({ type: 'stop' } satisfies ToWorker);
      let settled = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'tick') this.latest.set(index, message.tick);
        else if (message.type === 'log') this.emit('log', `[proc ${index + 1}] ${message.line}`);
        else if (message.type === 'done') {
          settled = true;
          resolve(message.report);
        } else {
          settled = true;
          reject(new Error(`bench process ${index + 1} of ${this.procs} failed: ${message.message}`));
        }
      });
      worker.on('error', (error) => {
        settled = true;
        reject(new Error(`bench process ${index + 1} of ${this.procs} failed: ${error.message}`));
      });
      worker.on('exit', (code) => {
        if (!settled)
          reject(new Error(`bench process ${index + 1} of ${this.procs} exited (${code}) without a report`));
      });
    });
  }

  /** Every process's latest numbers, summed (latency percentiles: the worst process's, until the exact merge). */
  private combinedTick(): BenchTickEvent | undefined {
    const ticks = [...this.latest.values()];
    const [first] = ticks;
    if (!first) return undefined;
    const sum = (pick: (t: BenchTickEvent) => number): number => ticks.reduce((n, t) => n + pick(t), 0);
    const rates = ticks.map((t) => t.targetRatePerSecond);
    return {
      elapsedMs: Math.max(...ticks.map((t) => t.elapsedMs)),
      plannedMs: first.plannedMs,
      progress: Math.min(...ticks.map((t) => t.progress)),
      targetRatePerSecond: rates.every((r) => r !== undefined)
        ? sum((t) => t.targetRatePerSecond ?? 0)
        : undefined,
      virtualUsers: sum((t) => t.virtualUsers),
      dropped: sum((t) => t.dropped),
      live: combineLive(ticks.map((t) => t.live)),
    };
  }
}

function combineLive(parts: readonly LiveSnapshot[]): LiveSnapshot {
  const sum = (pick: (l: LiveSnapshot) => number): number => parts.reduce((n, l) => n + pick(l), 0);
  const seconds = parts.map((l) => l.lastSecond).filter((b): b is TimelineBucket => b !== undefined);
  return {
    requests: sum((l) => l.requests),
    iterations: sum((l) => l.iterations),
    errors: sum((l) => l.errors),
    limited: sum((l) => l.limited),
    p50: Math.max(...parts.map((l) => l.p50)),
    p99: Math.max(...parts.map((l) => l.p99)),
    sessionsOpened: sum((l) => l.sessionsOpened),
    sessionsLost: sum((l) => l.sessionsLost),
    instances: addCounts(parts.map((l) => l.instances)),
    ...(seconds.length > 0 ? { lastSecond: combineSeconds(seconds) } : {}),
  };
}

function combineSeconds(buckets: readonly TimelineBucket[]): TimelineBucket {
  const second = Math.min(...buckets.map((b) => b.second));
  const same = buckets.filter((b) => b.second === second);
  return {
    second,
    requests: same.reduce((n, b) => n + b.requests, 0),
    errors: same.reduce((n, b) => n + b.errors, 0),
    limited: same.reduce((n, b) => n + b.limited, 0),
    p50: Math.max(...same.map((b) => b.p50)),
    p90: Math.max(...same.map((b) => b.p90)),
    p99: Math.max(...same.map((b) => b.p99)),
    max: Math.max(...same.map((b) => b.max)),
    byInstance: addCounts(same.map((b) => b.byInstance)),
  };
}

function addCounts(maps: readonly Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const map of maps) for (const [key, n] of Object.entries(map)) merged[key] = (merged[key] ?? 0) + n;
  return merged;
}

/**
 * The compiled worker next to this module; when this module runs from the
 * TypeScript sources (the test runner), the compiled copy in dist/.
 */
function workerEntry(): URL {
  const here = new URL('./load-worker.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/bench/procs/load-worker.js', import.meta.url);
}
