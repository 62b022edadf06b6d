import * as hdr from 'hdr-histogram-js';

/**
 * Latency histograms (HdrHistogram, 3 significant digits). Values are
 * recorded in microseconds so a 50 ms latency reads 50.0x ms, not 50 or 51,
 * and summarised in milliseconds.
 */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const HIGHEST_US = 3_600_000_000; // one hour

export class LatencyHistogram {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(latencyMs: number): void {
    const us = Math.min(HIGHEST_US, Math.max(1, Math.round(latencyMs * 1000)));
    this.histogram.recordValue(us);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentileMs(percentile: number): number {
    return this.count === 0 ? 0 : toMs(this.histogram.getValueAtPercentile(percentile));
  }

  summary(): LatencySummary {
    if (this.count === 0) return emptySummary();
    const h = this.histogram;
    return {
      count: h.totalCount,
      min: toMs(h.minNonZeroValue),
      mean: round(h.mean / 1000),
      p50: toMs(h.getValueAtPercentile(50)),
      p90: toMs(h.getValueAtPercentile(90)),
      p99: toMs(h.getValueAtPercentile(99)),
      p999: toMs(h.getValueAtPercentile(99.9)),
      max: toMs(h.maxValue),
    };
  }

  reset(): void {
    this.histogram.reset();
  }

  /** The exact distribution, compressed and base64-encoded (what reports carry). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  /** Adds an encoded distribution (from another process or report): exact, not averaged. */
  addEncoded(encoded: string): void {
    const other = hdr.decodeFromCompressedBase64(encoded);
    this.histogram.add(other);
    other.destroy();
  }

  static fromEncoded(encoded: readonly string[]): LatencyHistogram {
    const histogram = new LatencyHistogram();
    for (const one of encoded) histogram.addEncoded(one);
    return histogram;
  }

  /** Frees the histogram's memory (the JS implementation needs nothing, WASM would). */
  destroy(): void {
    this.histogram.destroy();
  }
}

export function emptySummary(): LatencySummary {
  return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
}

function toMs(us: number): number {
  return round(us / 1000);
}

/** Three decimals: microsecond resolution in ms. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** A histogram per key (method, tool), created on first use. */
export class KeyedHistograms {
  private readonly byKey = new Map<string, LatencyHistogram>();

  record(key: string, latencyMs: number): void {
    let histogram = this.byKey.get(key);
    if (!histogram) {
      histogram = new LatencyHistogram();
      this.byKey.set(key, histogram);
    }
    histogram.recordMs(latencyMs);
  }

  encoded(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const key of [...this.byKey.keys()].sort()) {
      const histogram = this.byKey.get(key);
      if (histogram) result[key] = histogram.encode();
    }
    return result;
  }

  summaries(): Record<string, LatencySummary> {
    const result: Record<string, LatencySummary> = {};
    for (const key of [...this.byKey.keys()].sort()) {
      const histogram = this.byKey.get(key);
      if (histogram) result[key] = histogram.summary();
    }
    return result;
  }
}
