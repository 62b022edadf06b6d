import { UserError } from '../errors.js';
import type { CapacityReport, MeasuredBasis, ReasonLine } from './types.js';

/**
 * Capacity per worker from a `bench --find-capacity` report, at the user's
 * p99 target. When the target is the report's own, the report's numbers are
 * used as they are; when it differs, the capacity is re-read from the steps
 * the benchmark walked through.
 */

/** Plan for workers to run at 70% of their measured capacity (see docs/plan.md). */
export const UTILISATION_TARGET = 0.7;

export type MeasuredCapacity = Pick<
  MeasuredBasis,
  'p99TargetMs' | 'measuredCallsPerSecond' | 'capacityPerWorker' | 'capacitySource'
> & { reasons: ReasonLine[] };

export function measuredCapacity(
  report: CapacityReport,
  p99TargetMs: number | undefined,
  reportFile = 'the report',
): MeasuredCapacity {
  const target = p99TargetMs ?? report.p99TargetMs;
  const reasons: ReasonLine[] = [];
  const sameTarget = target === report.p99TargetMs;
  if (!sameTarget) {
    reasons.push({
      source: 'note',
      text:
        `${reportFile} searched for capacity at p99 <= ${report.p99TargetMs} ms but you asked for ` +
        `${target} ms` +
        (report.steps.length > 0
          ? ': capacity is re-read from its load steps at your target.'
          : ' and it has no load steps to re-read: its capacity, measured at the other target, is used as is.'),
    });
  }
  if (sameTarget || report.steps.length === 0) {
    const fromReport = capacityAtReportTarget(report, reportFile);
    return { p99TargetMs: target, ...fromReport, reasons: [...reasons, ...fromReport.reasons] };
  }
  const fromSteps = capacityFromSteps(report, target, reportFile);
  return { p99TargetMs: target, ...fromSteps, reasons: [...reasons, ...fromSteps.reasons] };
}

function capacityAtReportTarget(
  report: CapacityReport,
  reportFile: string,
): Omit<MeasuredCapacity, 'p99TargetMs'> {
  const { workers } = report;
  if (report.callsPerSecondPerWorker !== undefined) {
    const perWorker = report.callsPerSecondPerWorker;
    const total = report.callsPerSecond ?? perWorker * workers;
    return {
      measuredCallsPerSecond: total,
      capacityPerWorker: perWorker,
      capacitySource: 'report.callsPerSecondPerWorker',
      reasons: [
        {
          source: 'report',
          text:
            `${reportFile}: ${workers} worker(s) sustained ${fmt(total)} calls/s at p99 <= ` +
            `${report.p99TargetMs} ms, ${fmt(perWorker)} calls/s per worker (capacity.callsPerSecondPerWorker).`,
        },
      ],
    };
  }
  if (report.callsPerSecond !== undefined) {
    const perWorker = report.callsPerSecond / workers;
    return {
      measuredCallsPerSecond: report.callsPerSecond,
      capacityPerWorker: perWorker,
      capacitySource: 'report.callsPerSecond / workers',
      reasons: [
        {
          source: 'report',
          text:
            `${reportFile}: ${workers} worker(s) sustained ${fmt(report.callsPerSecond)} calls/s at p99 <= ` +
            `${report.p99TargetMs} ms (capacity.callsPerSecond).`,
        },
        {
          source: 'derived',
          text: `capacity per worker = ${fmt(report.callsPerSecond)} / ${workers} = ${fmt(perWorker)} calls/s.`,
        },
      ],
    };
  }
  return capacityFromSteps(report, report.p99TargetMs, reportFile);
}

/**
 * The highest rate before the first step whose p99 missed the target. A
 * later step that happens to pass again is noise, not capacity.
 */
function capacityFromSteps(
  report: CapacityReport,
  target: number,
  reportFile: string,
): Omit<MeasuredCapacity, 'p99TargetMs'> {
  const steps = [...report.steps].sort((a, b) => a.rate - b.rate);
  let passing: (typeof steps)[number] | undefined;
  let firstMiss: (typeof steps)[number] | undefined;
  for (const step of steps) {
    if (step.p99Ms > target) {
      firstMiss = step;
      break;
    }
    passing = step;
  }
  if (!passing) {
    const lowest = steps[0];
    throw new UserError(
      `no load step in ${reportFile} met p99 <= ${target} ms (the lowest, ${fmt(lowest?.rate ?? 0)} calls/s, ` +
        `had ${fmt(lowest?.p99Ms ?? 0)} ms): bench again from a lower rate or relax --p99`,
    );
  }
  const perWorker = passing.rate / report.workers;
  const reasons: ReasonLine[] = [
    {
      source: 'report',
      text:
        `${reportFile}: with ${report.workers} worker(s), ${fmt(passing.rate)} calls/s had p99 ` +
        `${fmt(passing.p99Ms)} ms <= ${target} ms` +
        (firstMiss
          ? `; the next step, ${fmt(firstMiss.rate)} calls/s, had ${fmt(firstMiss.p99Ms)} ms (capacity.steps).`
          : '; every step met it, so this is a lower bound: the benchmark stopped there (capacity.steps).'),
    },
    {
      source: 'derived',
      text: `capacity per worker = ${fmt(passing.rate)} / ${report.workers} = ${fmt(perWorker)} calls/s.`,
    },
  ];
  return {
    measuredCallsPerSecond: passing.rate,
    capacityPerWorker: perWorker,
    capacitySource: 'report.steps',
    reasons,
  };
}

/** Numbers for people: whole numbers as they are, others to 2 decimals at most. */
export function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}
