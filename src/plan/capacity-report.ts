import fs from 'node:fs/promises';
import { UserError } from '../errors.js';
import type { CapacityReport, CapacityStep } from './types.js';

/**
 * Reads the `capacity` section of a `bench --find-capacity` report. The
 * bench report carries much more (latency, sessions, cache hits); the plan
 * needs only the capacity result, so everything else is ignored and only
 * the fields used are checked. Every problem is one UserError line.
 */

/** The report schema this reader was written against. Newer ones are read but flagged. */
export const SUPPORTED_REPORT_SCHEMA = 1;

export async function readCapacityReport(file: string): Promise<CapacityReport> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UserError(`cannot read report ${file}: ${code}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not a bench --find-capacity report: not valid JSON`);
  }
  return parseCapacityReport(value, file);
}

export function parseCapacityReport(value: unknown, source = 'report'): CapacityReport {
  const fail = (why: string): never => {
    throw new UserError(`${source} is not a bench --find-capacity report: ${why}`);
  };
  if (!isObject(value)) return fail('not a JSON object');
  const schemaVersion = value.schemaVersion;
  if (schemaVersion !== undefined && !isPositiveNumber(schemaVersion)) fail('schemaVersion is not a number');
  const capacity = value.capacity;
  if (capacity === undefined) return fail('no "capacity" section (run bench with --find-capacity)');
  if (capacity === null) {
    throw new UserError(
      `${source} has no capacity result: the benchmark found no rate that met its p99 target`,
    );
  }
  if (!isObject(capacity)) return fail('"capacity" is not an object');

  const p99TargetMs = capacity.p99TargetMs;
  if (!isPositiveNumber(p99TargetMs)) return fail('capacity.p99TargetMs is missing or not a positive number');
  const workers = capacity.workers;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
    return fail('capacity.workers is missing or not a whole number >= 1');
  }
  const callsPerSecond = optionalPositive(capacity.callsPerSecond, 'capacity.callsPerSecond', fail);
  const callsPerSecondPerWorker = optionalPositive(
    capacity.callsPerSecondPerWorker,
    'capacity.callsPerSecondPerWorker',
    fail,
  );
  const steps = parseSteps(capacity.steps, fail);
  if (callsPerSecond === undefined && callsPerSecondPerWorker === undefined && steps.length === 0) {
    fail('capacity has neither callsPerSecond, callsPerSecondPerWorker nor steps');
  }
  return {
    ...(schemaVersion === undefined ? {} : { schemaVersion: schemaVersion as number }),
    p99TargetMs,
    workers,
    ...(callsPerSecond === undefined ? {} : { callsPerSecond }),
    ...(callsPerSecondPerWorker === undefined ? {} : { callsPerSecondPerWorker }),
    steps,
  };
}

function parseSteps(value: unknown, fail: (why: string) => never): CapacityStep[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail('capacity.steps is not an array');
  return value.map((step: unknown, index) => {
    if (!isObject(step) || !isPositiveNumber(step.rate) || !isNonNegativeNumber(step.p99Ms)) {
      return fail(`capacity.steps[${index}] needs a positive "rate" and a "p99Ms"`);
    }
    return { rate: step.rate, p99Ms: step.p99Ms };
  });
}

function optionalPositive(value: unknown, name: string, fail: (why: string) => never): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPositiveNumber(value)) return fail(`${name} is not a positive number`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
