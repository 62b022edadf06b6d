import { LatencyHistogram, type LatencySummary } from '../histogram.js';
import type { BenchReport, EncodedHistograms } from '../report-schema.js';

/**
 * The latency parts of merged reports, from the encoded HdrHistograms the
 * reports carry: the distributions are added, never their percentiles
 * averaged, so a merged p99 is the p99 of every request (to HdrHistogram's
 * 3 significant digits).
 */
export interface MergedLatency {
  latency: BenchReport['latency'];
  timeline: BenchReport['timeline'];
  histograms: EncodedHistograms;
}

export function mergeLatency(reports: readonly BenchReport[]): MergedLatency {
  const all = LatencyHistogram.fromEncoded(reports.map((r) => r.histograms.all));
  const setup = LatencyHistogram.fromEncoded(reports.map((r) => r.histograms.setup));
  const byMethod = mergeKeyed(reports.map((r) => r.histograms.byMethod));
  const byTool = mergeKeyed(reports.map((r) => r.histograms.byTool));
  const timeline = mergeTimeline(reports);
  const exact = (summary: LatencySummary, pick: (r: BenchReport) => LatencySummary | undefined) =>
    withExactRange(summary, reports.map(pick));
  return {
    latency: {
      all: exact(all.summary(), (r) => r.latency.all),
      setup: exact(setup.summary(), (r) => r.latency.setup),
      byMethod: mapValues(summaries(byMethod), (key, summary) =>
        exact(summary, (r) => r.latency.byMethod[key]),
      ),
      byTool: mapValues(summaries(byTool), (key, summary) => exact(summary, (r) => r.latency.byTool[key])),
    },
    timeline: timeline.buckets,
    histograms: {
      encoding: 'hdr-compressed-base64',
      unit: 'us',
      all: all.encode(),
      setup: setup.encode(),
      byMethod: encodedAll(byMethod),
      byTool: encodedAll(byTool),
      timeline: timeline.encoded,
    },
  };
}

/**
 * An encoded histogram keeps min and max only to its bucket's precision;
 * the reports' summaries have them exactly, and the extremes of a union
 * are the extremes of its parts.
 */
function withExactRange(
  summary: LatencySummary,
  parts: readonly (LatencySummary | undefined)[],
): LatencySummary {
  const counted = parts.filter((p): p is LatencySummary => p !== undefined && p.count > 0);
  if (summary.count === 0 || counted.length === 0) return summary;
  return {
    ...summary,
    min: Math.min(...counted.map((p) => p.min)),
    max: Math.max(...counted.map((p) => p.max)),
  };
}

function mapValues<T>(record: Record<string, T>, map: (key: string, value: T) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(key, value)]));
}

function mergeKeyed(maps: readonly Record<string, string>[]): Map<string, LatencyHistogram> {
  const merged = new Map<string, LatencyHistogram>();
  for (const map of maps) {
    for (const [key, encoded] of Object.entries(map)) {
      let histogram = merged.get(key);
      if (!histogram) merged.set(key, (histogram = new LatencyHistogram()));
      histogram.addEncoded(encoded);
    }
  }
  return new Map([...merged.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

function summaries(map: Map<string, LatencyHistogram>): Record<string, LatencySummary> {
  return Object.fromEntries([...map.entries()].map(([key, h]) => [key, h.summary()]));
}

function encodedAll(map: Map<string, LatencyHistogram>): Record<string, string> {
  return Object.fromEntries([...map.entries()].map(([key, h]) => [key, h.encode()]));
}

/**
 * Seconds are counted from each run's own start, so runs started together
 * (one --procs run, or pods of one Job) line up second by second.
 */
function mergeTimeline(reports: readonly BenchReport[]): {
  buckets: BenchReport['timeline'];
  encoded: string[];
} {
  const bySecond = new Map<
    number,
    { bucket: BenchReport['timeline'][number]; histogram: LatencyHistogram; max: number }
  >();
  for (const report of reports) {
    report.timeline.forEach((bucket, i) => {
      let entry = bySecond.get(bucket.second);
      if (!entry) {
        entry = {
          bucket: { ...bucket, requests: 0, errors: 0, limited: 0, byInstance: {} },
          histogram: new LatencyHistogram(),
          max: 0,
        };
        bySecond.set(bucket.second, entry);
      }
      const merged = entry.bucket;
      merged.requests += bucket.requests;
      merged.errors += bucket.errors;
      merged.limited += bucket.limited;
      for (const [id, n] of Object.entries(bucket.byInstance))
        merged.byInstance[id] = (merged.byInstance[id] ?? 0) + n;
      entry.max = Math.max(entry.max, bucket.max);
      const encoded = report.histograms.timeline[i];
      if (encoded) entry.histogram.addEncoded(encoded);
    });
  }
  const seconds = [...bySecond.keys()].sort((a, b) => a - b);
  const buckets: BenchReport['timeline'] = [];
  const encoded: string[] = [];
  for (const second of seconds) {
    const entry = bySecond.get(second);
    if (!entry) continue;
    const summary = entry.histogram.summary();
    buckets.push({ ...entry.bucket, p50: summary.p50, p90: summary.p90, p99: summary.p99, max: entry.max });
    encoded.push(entry.histogram.encode());
  }
  return { buckets, encoded };
}
