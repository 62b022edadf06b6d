import { UserError } from '../errors.js';

/**
 * The one duration syntax used by every flag and config key:
 * `20ms`, `30s`, `5m`, `1h`, `2d`; a bare number means seconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

export function parseDuration(input: string | number, what = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new UserError(`invalid ${what} ${input}: must be >= 0`);
    return Math.round(input * 1000);
  }
  const match = DURATION.exec(input.trim());
  if (!match) {
    throw new UserError(
      `invalid ${what} '${input}': use a number with ms, s, m, h or d (e.g. 20ms, 30s, 5m)`,
    );
  }
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (UNIT_MS[unit] ?? 1000));
}

/** Shortest exact spelling of a duration in the same syntax (60000 → `1m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
  ] as const) {
    if (size !== undefined && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
