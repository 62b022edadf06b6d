import { BenchEngine } from './engine.js';
import { constantStages } from './load-profile.js';
import type { CapacityPlan } from './options.js';
import type { BenchReport, CapacityResult } from './report-schema.js';
import { NO_INSTANCE } from './timeline.js';
import type { BenchOptions, BenchTarget } from './types.js';

/**
 * `--find-capacity --p99 250ms`: after an unmeasured warm-up at the start
 * rate (at most 5 s), open-model steps at rising arrival rates
 * (×1.5 each) until a step fails, then two bisection steps between the
 * last pass and the first failure. A step passes when the p99 of the
 * scenario's requests stays at or under the target and errors and dropped
 * arrivals stay at or under 1%. The answer is the achieved calls/s of the
 * best passing step, per worker, which `mcp-scale plan --from-report` reads.
 */
export const MAX_STEPS = 20;
const MAX_ERROR_RATE = 0.01;
const MAX_DROPPED_RATIO = 0.01;
const REFINEMENTS = 2;
const WARMUP_MS = 5_000;

export interface CapacityHooks {
  /** Each step's engine, before it runs (for a display to attach). */
  onEngine?: (engine: BenchEngine, step: { index: number; ratePerSecond: number }) => void;
  /** Checked between steps (Ctrl-C). */
  stopped?: () => boolean;
}

type Step = CapacityResult['steps'][number];

export async function findCapacity(
  options: BenchOptions,
  target: BenchTarget,
  plan: CapacityPlan,
  hooks: CapacityHooks = {},
): Promise<BenchReport> {
  const steps: Step[] = [];
  let best: { report: BenchReport; rate: number } | undefined;
  let last: BenchReport | undefined;
  let failedRate: number | undefined;

  const runStep = async (ratePerSecond: number): Promise<boolean> => {
    const engine = new BenchEngine(stepOptions(options, ratePerSecond, plan.stepMs), target);
    hooks.onEngine?.(engine, { index: steps.length, ratePerSecond });
    const report = await engine.run();
    last = report;
    const step = judge(report, ratePerSecond, plan);
    steps.push(step);
    if (
      step.passed &&
      (!best || report.totals.iterationsPerSecond > best.report.totals.iterationsPerSecond)
    ) {
      best = { report, rate: ratePerSecond };
    }
    return step.passed;
  };

  // Warm the cluster (and this process) up first: a cold start would fail the first step.
  const warmup = new BenchEngine(
    stepOptions(options, plan.startPerSecond, Math.min(plan.stepMs, WARMUP_MS)),
    target,
  );
  hooks.onEngine?.(warmup, { index: -1, ratePerSecond: plan.startPerSecond });
  await warmup.run();

  for (let rate = plan.startPerSecond; steps.length < MAX_STEPS && !hooks.stopped?.();) {
    if (!(await runStep(rate))) {
      failedRate = rate;
      break;
    }
    if (rate >= plan.maxPerSecond) break;
    rate = Math.min(plan.maxPerSecond, rate * plan.factor);
  }
  let low = best?.rate;
  let high = failedRate;
  for (let i = 0; i < REFINEMENTS && low !== undefined && high !== undefined && !hooks.stopped?.(); i++) {
    if (high - low < Math.max(1, low * 0.05)) break;
    const middle = (low + high) / 2;
    if (await runStep(middle)) low = middle;
    else high = middle;
  }

  const final = best?.report ?? last;
  if (!final) throw new Error('find-capacity ran no step');
  const callsPerSecond = best ? best.report.totals.iterationsPerSecond : null;
  const workers = countWorkers(target, best?.report ?? final);
  final.capacity = {
    p99TargetMs: plan.p99TargetMs,
    callsPerSecond,
    workers,
    callsPerSecondPerWorker: callsPerSecond === null ? null : round(callsPerSecond / workers),
    steps,
  };
  return final;
}

function stepOptions(options: BenchOptions, ratePerSecond: number, stepMs: number): BenchOptions {
  const pool = options.model.kind === 'open' ? options.model : { maxClients: 100, preAllocate: 10 };
  const { durationMs: _duration, iterations: _iterations, ...rest } = options;
  return {
    ...rest,
    // The mixed scenario's 1 s streamed report would decide a step's p99 by itself.
    slowCalls: false,
    model: {
      kind: 'open',
      stages: constantStages(ratePerSecond, stepMs),
      maxClients: pool.maxClients,
      preAllocate: pool.preAllocate,
    },
  };
}

function judge(report: BenchReport, ratePerSecond: number, plan: CapacityPlan): Step {
  const attempted = report.totals.iterations + report.totals.dropped;
  const droppedRatio = attempted > 0 ? report.totals.dropped / attempted : 0;
  const p99Ms = report.latency.all.p99;
  return {
    rate: round(ratePerSecond),
    durationMs: report.durationMs,
    callsPerSecond: report.totals.iterationsPerSecond,
    p99Ms,
    errorRate: report.totals.errorRate,
    dropped: report.totals.dropped,
    passed:
      report.latency.all.count > 0 &&
      p99Ms <= plan.p99TargetMs &&
      report.totals.errorRate <= MAX_ERROR_RATE &&
      droppedRatio <= MAX_DROPPED_RATIO,
  };
}

/** Workers from the ready file, else the distinct instances that answered, else 1. */
function countWorkers(target: BenchTarget, report: BenchReport): number {
  if (target.readyInfo && target.readyInfo.instances.length > 0) return target.readyInfo.instances.length;
  const seen = Object.keys(report.instances).filter((id) => id !== NO_INSTANCE).length;
  return Math.max(1, seen);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
