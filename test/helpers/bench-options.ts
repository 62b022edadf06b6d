import { resolveBenchPlan, type BenchFlags } from '../../src/bench/options.js';
import type { BenchOptions } from '../../src/bench/types.js';

/**
 * Bench options for tests, built through the same flag resolution the CLI
 * uses (so tests exercise the defaults users get), with a fast tick.
 */
export function benchOptions(url: string, flags: BenchFlags): BenchOptions {
  const plan = resolveBenchPlan(flags);
  return { ...plan.options, url, tickMs: 200, gracefulStopMs: flags.gracefulStop ?? 3000 };
}
