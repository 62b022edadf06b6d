import { LatencyHistogram } from './histogram.js';
import { SETUP_METHODS, type ResponseRecord } from './types.js';

/**
 * Latency and throughput per second of the run, for the live display and
 * the HTML charts. Records arrive in completion order, so only the current
 * second is open; earlier seconds are summarised and their histogram reused.
 */
export interface TimelineBucket {
  /** Seconds since the bench started (bucket [second, second + 1)). */
  second: number;
  requests: number;
  errors: number;
  limited: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  byInstance: Record<string, number>;
}

export const NO_INSTANCE = '(none)';

export class Timeline {
  private readonly closed: TimelineBucket[] = [];
  /** Each closed second's exact distribution, for merging reports. */
  private readonly encoded: string[] = [];
  private readonly histogram = new LatencyHistogram();
  private open: TimelineBucket | undefined;

  add(record: ResponseRecord): void {
    const second = Math.floor(record.at / 1000);
    this.closeBefore(second);
    const bucket = (this.open ??= emptyBucket(second));
    bucket.requests += 1;
    if (!record.ok) bucket.errors += 1;
    if (record.limited) bucket.limited += 1;
    const instance = record.instance ?? NO_INSTANCE;
    bucket.byInstance[instance] = (bucket.byInstance[instance] ?? 0) + 1;
    if (!SETUP_METHODS.has(record.method)) this.histogram.recordMs(record.latencyMs);
  }

  /** Summarises every second before `second` (called on each record and each tick). */
  closeBefore(second: number): void {
    if (this.open && this.open.second < second) {
      const bucket = this.open;
      const summary = this.histogram.summary();
      Object.assign(bucket, { p50: summary.p50, p90: summary.p90, p99: summary.p99, max: summary.max });
      this.encoded.push(this.histogram.encode());
      this.histogram.reset();
      this.closed.push(bucket);
      this.open = undefined;
    }
    // Seconds in which nothing completed still belong on the chart.
    const last = this.closed.at(-1);
    if (last) {
      for (let s = last.second + 1; s < second && (!this.open || s < this.open.second); s++) {
        this.closed.push(emptyBucket(s));
        this.encoded.push(EMPTY_ENCODED);
      }
    }
  }

  /** The last fully summarised second, if any. */
  lastClosed(): TimelineBucket | undefined {
    return this.closed.at(-1);
  }

  /** Closes the open second and returns every bucket. */
  finish(): TimelineBucket[] {
    if (this.open) this.closeBefore(this.open.second + 1);
    return [...this.closed];
  }

  /** The encoded histogram of each bucket `finish()` returned, in order. */
  encodedBuckets(): string[] {
    return [...this.encoded];
  }
}

const EMPTY_ENCODED = new LatencyHistogram().encode();

export function emptyBucket(second: number): TimelineBucket {
  return { second, requests: 0, errors: 0, limited: 0, p50: 0, p90: 0, p99: 0, max: 0, byInstance: {} };
}
