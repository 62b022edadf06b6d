import { UserError } from '../../errors.js';
import { parseStages, totalDurationMs, type LevelStage } from '../load-profile.js';

/**
 * Closed-model users over time, k6's ramping-VUs: `--stages
 * 0-500:30s,hold:2m,500-0:10s` (the `--ramp` syntax, counting users) or
 * `--clients 500 --ramp-up 30s --duration 3m`. User k (1-based) is active
 * while the planned level is at least k, so a ramp up starts users evenly
 * spread over it and a ramp down stops the last-started first (each
 * finishes the iteration it is in).
 */
export type UserStage = LevelStage;

/** A span of the run, ms since the load started, during which one user runs. */
export interface ActiveWindow {
  startMs: number;
  endMs: number;
}

export function parseUserStages(text: string): UserStage[] {
  return parseStages(text, '--stages', (value) => {
    if (!/^\d+$/.test(value.trim()))
      throw new UserError(`invalid --stages level '${value}': a number of users, e.g. 0-500:30s`);
    return Number(value);
  });
}

/** `--clients N [--ramp-up R] --duration D`: start spread over R, then hold until D. */
export function constantUsers(users: number, durationMs: number, rampUpMs = 0): UserStage[] {
  if (rampUpMs <= 0) return [{ from: users, to: users, durationMs }];
  if (rampUpMs >= durationMs)
    throw new UserError('--ramp-up must be shorter than --duration (the ramp is part of the run)');
  return [
    { from: 0, to: users, durationMs: rampUpMs },
    { from: users, to: users, durationMs: durationMs - rampUpMs },
  ];
}

export function peakUsers(stages: readonly UserStage[]): number {
  return Math.max(0, ...stages.map((stage) => Math.max(stage.from, stage.to)));
}

export { totalDurationMs as stagesDurationMs };

/** The planned number of users at `atMs` (for the live display). */
export function usersAt(stages: readonly UserStage[], atMs: number): number {
  let start = 0;
  for (const stage of stages) {
    if (atMs < start + stage.durationMs) {
      const level = stage.from + ((stage.to - stage.from) * (atMs - start)) / stage.durationMs;
      return Math.floor(level + 1e-9);
    }
    start += stage.durationMs;
  }
  return 0;
}

/**
 * When user `k` (1-based) runs: every span where the planned level is at
 * least k. On a linear stage that set is one interval; touching intervals
 * of consecutive stages are joined.
 */
export function activeWindows(stages: readonly UserStage[], k: number): ActiveWindow[] {
  const windows: ActiveWindow[] = [];
  let t0 = 0;
  for (const stage of stages) {
    const t1 = t0 + stage.durationMs;
    const span = spanAtLeast(stage, k, t0, t1);
    if (span) {
      const last = windows.at(-1);
      if (last && Math.abs(last.endMs - span.startMs) < 1e-6) last.endMs = span.endMs;
      else if (span.endMs > span.startMs) windows.push(span);
    }
    t0 = t1;
  }
  return windows;
}

function spanAtLeast(stage: UserStage, k: number, t0: number, t1: number): ActiveWindow | undefined {
  const { from, to } = stage;
  if (from >= k && to >= k) return { startMs: t0, endMs: t1 };
  if (from < k && to < k) return undefined;
  // The level crosses k inside the stage.
  const at = t0 + ((k - from) / (to - from)) * (t1 - t0);
  return from < k ? { startMs: at, endMs: t1 } : { startMs: t0, endMs: at };
}

/** How many of the global users 1..`users` a process with this --procs slice runs. */
export function sliceSize(users: number, slice: { index: number; count: number } | undefined): number {
  if (!slice) return users;
  return Math.max(0, Math.ceil((users - slice.index) / slice.count));
}
