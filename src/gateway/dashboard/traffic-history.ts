import { LatencyHistogram } from '../../bench/histogram.js';
import type { Era } from '../../protocol/classify.js';

/** One interval of one era's traffic at the gateway. */
export interface TrafficPoint {
  /** End of the interval, epoch ms. */
  t: number;
  requestsPerSec: number;
  /** 5xx answers per second. */
  errorsPerSec: number;
  /** 429 answers per second. */
  limitedPerSec: number;
  /** Latency of the interval's requests (GET streams excluded); 0 when there were none. */
  p50Ms: number;
  p99Ms: number;
}

interface Interval {
  requests: number;
  errors: number;
  limited: number;
  latency: LatencyHistogram;
}

const ERAS: Era[] = ['legacy', 'modern'];

/**
 * The last few minutes of the gateway's traffic by era, for the dashboard:
 * each finished request lands in the current interval (count, 5xx, 429, an
 * HdrHistogram of its duration); every interval the figures become a point
 * and the interval starts over. Bounded: `keep` points per era.
 */
export class TrafficHistory {
  private readonly current = new Map<Era, Interval>();
  private readonly points = new Map<Era, TrafficPoint[]>();
  private readonly totals = new Map<Era, number>();
  private readonly timer: NodeJS.Timeout;
  private last = Date.now();

  constructor(
    readonly intervalMs = 2000,
    private readonly keep = 150,
  ) {
    for (const era of ERAS) {
      this.current.set(era, newInterval());
      this.points.set(era, []);
      this.totals.set(era, 0);
    }
    this.timer = setInterval(() => this.roll(), intervalMs);
    this.timer.unref();
  }

  record(era: Era, status: number, durationMs: number | undefined): void {
    const interval = this.current.get(era)!;
    interval.requests++;
    if (status >= 500) interval.errors++;
    if (status === 429) interval.limited++;
    if (durationMs !== undefined) interval.latency.recordMs(durationMs);
    this.totals.set(era, this.totals.get(era)! + 1);
  }

  /** Requests seen since start, by era (the same as the MCP endpoint's count in /_mcp-scale/status). */
  requestTotals(): Record<Era, number> {
    return { legacy: this.totals.get('legacy')!, modern: this.totals.get('modern')! };
  }

  history(): Record<Era, TrafficPoint[]> {
    return { legacy: [...this.points.get('legacy')!], modern: [...this.points.get('modern')!] };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private roll(): void {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.last) / 1000);
    this.last = now;
    for (const era of ERAS) {
      const interval = this.current.get(era)!;
      const points = this.points.get(era)!;
      points.push({
        t: now,
        requestsPerSec: round(interval.requests / seconds),
        errorsPerSec: round(interval.errors / seconds),
        limitedPerSec: round(interval.limited / seconds),
        p50Ms: interval.latency.percentileMs(50),
        p99Ms: interval.latency.percentileMs(99),
      });
      if (points.length > this.keep) points.shift();
      interval.requests = 0;
      interval.errors = 0;
      interval.limited = 0;
      interval.latency.reset();
    }
  }
}

function newInterval(): Interval {
  return { requests: 0, errors: 0, limited: 0, latency: new LatencyHistogram() };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
