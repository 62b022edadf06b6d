import type { MetricsResult } from '../metrics.js';
import type { ScenarioSummary } from '../report-schema.js';
import type { BenchOptions, BenchTarget, Era, ResponseRecord, ScenarioName, Step } from '../types.js';

/**
 * A scenario decides what each virtual user sends next and, optionally,
 * watches the responses to judge something (affinity, exact limits, cache
 * hits, sessions surviving a dead worker). The engine owns the load model;
 * a scenario never schedules requests itself.
 */
export interface VuView {
  index: number;
  era: Era;
  /** Iterations this user has started before this one. */
  iteration: number;
  /** Seeded per user: a rerun with the same --seed sends the same sequence. */
  random: () => number;
}

export interface ScenarioContext {
  options: BenchOptions;
  target: BenchTarget;
  /** ms since the bench started. */
  clock: () => number;
  /** When the load ends, ms since start (undefined when only --iterations bounds it). */
  plannedEndMs: number | undefined;
  /** Requests served per instance so far. */
  instanceCounts: () => Record<string, number>;
  log: (message: string) => void;
}

export interface Scenario {
  readonly name: ScenarioName;
  nextStep(vu: VuView): Step;
  start?(context: ScenarioContext): void | Promise<void>;
  observe?(record: ResponseRecord): void;
  stop?(): void | Promise<void>;
  summary(metrics: MetricsResult): ScenarioSummary;
}

export { seededRandom } from '../../util/random.js';

/** Picks a key with probability proportional to its weight. */
export function weightedPick<T extends string>(
  weights: readonly (readonly [T, number])[],
  random: () => number,
): T {
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [key, weight] of weights) {
    roll -= weight;
    if (roll < 0) return key;
  }
  const last = weights.at(-1);
  if (!last) throw new Error('weightedPick needs at least one entry');
  return last[0];
}

/** The demo shop's product id for a number: `p00042`. */
export function productId(n: number): string {
  return `p${String(n).padStart(5, '0')}`;
}

/** Product ids p00001..p01000 with a hot head: low ids are asked for far more often, as in a real shop. */
export function popularProductId(random: () => number): string {
  return productId(Math.floor(1000 * random() ** 3) + 1);
}

/** Words the demo catalogue's names and categories contain. */
export const SEARCH_QUERIES = [
  'kettle',
  'lamp',
  'outdoor',
  'chair',
  'audio',
  'tent',
  'kitchen',
  'watch',
] as const;
