import { median, openLoop } from './load.js';

/**
 * Added latency of one or more proxies, each over the worker behind it, at
 * a fixed rate: rounds alternate the targets (reversed every other round),
 * and the added p50/p99 is the median of the per-round differences to that
 * proxy's own worker, so a noisy round weighs on both sides of a difference.
 */
export interface LatencyTarget {
  name: string;
  url: string;
  sessions: string[];
  /** The worker behind it, measured directly in the same rounds; undefined for a worker itself. */
  direct?: string;
}

export interface AddedLatency {
  p50Ms: number;
  p99Ms: number;
  /** Medians of the proxy's own figures. */
  proxy: { p50Ms: number; p99Ms: number };
  direct: { p50Ms: number; p99Ms: number };
}

export async function measureAddedLatency(
  targets: LatencyTarget[],
  ratePerSecond: number,
  durationMs: number,
  rounds: number,
  log: (line: string) => void,
): Promise<Record<string, AddedLatency>> {
  // Warm-up: connections, JIT and the worker's caches, as in the rounds.
  for (const target of targets) await openLoop(target.url, target.sessions, ratePerSecond, 2000);
  const runs: Record<string, { p50: number; p99: number }[]> = {};
  for (let round = 1; round <= rounds; round++) {
    for (const target of round % 2 ? targets : [...targets].reverse()) {
      const result = await openLoop(target.url, target.sessions, ratePerSecond, durationMs);
      (runs[target.name] ??= []).push(result);
      log(
        `round ${round} at ${ratePerSecond}/s ${target.name.padEnd(16)} p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${result.errors ? ` (${result.errors} errors)` : ''}`,
      );
    }
  }
  const added: Record<string, AddedLatency> = {};
  for (const target of targets) {
    if (!target.direct) continue;
    const own = runs[target.name]!;
    const direct = runs[target.direct]!;
    const diff = (q: 'p50' | 'p99') => median(own.map((run, i) => run[q] - direct[i]![q]));
    const medianOf = (list: { p50: number; p99: number }[]) => ({
      p50Ms: median(list.map((run) => run.p50)),
      p99Ms: median(list.map((run) => run.p99)),
    });
    added[target.name] = {
      p50Ms: diff('p50'),
      p99Ms: diff('p99'),
      proxy: medianOf(own),
      direct: medianOf(direct),
    };
  }
  return added;
}

/** `+1.25` / `-0.40`: an added latency can come out negative in a noisy round. */
export function signedMs(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
}
