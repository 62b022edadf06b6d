import { parseDuration } from '../config/duration.js';
import { UserError } from '../errors.js';
import type { RateStage } from './types.js';

/**
 * Open-model arrival profiles: `--rate 200/s` (constant for --duration) and
 * `--ramp 0-200/s:30s,hold:60s` (piecewise linear), and the exact arrival
 * times they imply. Arrival k happens when the integral of the rate reaches
 * k, so a ramp's arrivals thin out and thicken smoothly instead of in steps.
 */
const WINDOW_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `200/s`, `12000/m`, `50/10s` → arrivals per second. */
export function parsePerSecond(text: string, what = 'rate'): number {
  const match = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)?(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new UserError(`invalid ${what} '${text}': use COUNT/UNIT, e.g. 200/s or 600/1m`);
  const count = Number(match[1]);
  const windowMs = Number(match[2] ?? 1) * (WINDOW_MS[match[3] ?? 's'] ?? 1000);
  if (windowMs <= 0) throw new UserError(`invalid ${what} '${text}': the window must be longer than 0`);
  return (count * 1000) / windowMs;
}

/**
 * One stage syntax for both load models (documented once, in docs/bench.md
 * "Stages"): stages separated by commas,
 *   `FROM-TO:DURATION`  linear from FROM to TO, e.g. `0-200/s:30s` or `0-500:30s`
 *   `LEVEL:DURATION`    constant, e.g. `50/s:10s` or `100:1m`
 *   `hold:DURATION`     keep the previous stage's final level
 * A level is an arrival rate (`--ramp`, open model: `200/s`) or a number of
 * users (`--stages`, closed model: `500`); `parseLevel` reads one.
 */
export interface LevelStage {
  from: number;
  to: number;
  durationMs: number;
}

export function parseStages(
  text: string,
  flag: string,
  parseLevel: (text: string, unitFrom?: string) => number,
): LevelStage[] {
  const stages: LevelStage[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    const colon = token.lastIndexOf(':');
    if (colon <= 0)
      throw new UserError(`invalid ${flag} stage '${token}': use FROM-TO:DURATION or hold:DURATION`);
    const head = token.slice(0, colon);
    const durationMs = parseDuration(token.slice(colon + 1), `${flag} stage duration`);
    if (durationMs <= 0)
      throw new UserError(`invalid ${flag} stage '${token}': the duration must be longer than 0`);
    if (head === 'hold') {
      const previous = stages.at(-1);
      if (!previous) throw new UserError(`invalid ${flag}: 'hold' needs a stage before it`);
      stages.push({ from: previous.to, to: previous.to, durationMs });
      continue;
    }
    const ramp = /^(\d+(?:\.\d+)?)-(.+)$/.exec(head);
    if (ramp) {
      const to = parseLevel(ramp[2] ?? '');
      stages.push({ from: parseLevel(ramp[1] ?? '', ramp[2]), to, durationMs });
    } else {
      const level = parseLevel(head);
      stages.push({ from: level, to: level, durationMs });
    }
  }
  if (stages.every((stage) => stage.from === 0 && stage.to === 0)) {
    throw new UserError(`invalid ${flag}: every stage is 0`);
  }
  return stages;
}

/** `--ramp`: arrival-rate stages (`0-200/s:30s,hold:60s`); FROM takes TO's unit. */
export function parseRamp(text: string): RateStage[] {
  const level = (value: string, unitFrom?: string): number => {
    const unit = unitFrom === undefined ? '' : unitFrom.slice(unitFrom.indexOf('/'));
    return parsePerSecond(`${value}${unit}`, '--ramp stage');
  };
  return parseStages(text, '--ramp', level).map((stage) => ({
    fromPerSecond: stage.from,
    toPerSecond: stage.to,
    durationMs: stage.durationMs,
  }));
}

export function constantStages(perSecond: number, durationMs: number): RateStage[] {
  return [{ fromPerSecond: perSecond, toPerSecond: perSecond, durationMs }];
}

export function totalDurationMs(stages: readonly { durationMs: number }[]): number {
  return stages.reduce((sum, stage) => sum + stage.durationMs, 0);
}

export function peakPerSecond(stages: readonly RateStage[]): number {
  return Math.max(0, ...stages.map((stage) => Math.max(stage.fromPerSecond, stage.toPerSecond)));
}

/** The target arrival rate at `atMs` (for the live display). */
export function rateAt(stages: readonly RateStage[], atMs: number): number {
  let start = 0;
  for (const stage of stages) {
    if (atMs < start + stage.durationMs) {
      const fraction = (atMs - start) / stage.durationMs;
      return stage.fromPerSecond + (stage.toPerSecond - stage.fromPerSecond) * fraction;
    }
    start += stage.durationMs;
  }
  return 0;
}

/** Arrival times of a profile, in order: `timeOf(0)`, `timeOf(1)`, … until undefined. */
export class ArrivalSchedule {
  private readonly starts: { startMs: number; startCount: number; stage: RateStage }[] = [];
  private cursor = 0;
  readonly totalMs: number;
  readonly totalArrivals: number;

  constructor(stages: readonly RateStage[]) {
    let startMs = 0;
    let startCount = 0;
    for (const stage of stages) {
      this.starts.push({ startMs, startCount, stage });
      startMs += stage.durationMs;
      startCount += ((stage.fromPerSecond + stage.toPerSecond) / 2) * (stage.durationMs / 1000);
    }
    this.totalMs = startMs;
    this.totalArrivals = Math.ceil(startCount - 1e-9);
  }

  /** Time in ms of arrival k (k = 0, 1, …), or undefined once the profile is over. Call with increasing k. */
  timeOf(k: number): number | undefined {
    while (this.cursor < this.starts.length) {
      const entry = this.starts[this.cursor];
      if (!entry) break;
      const seconds = solveWithinStage(entry.stage, k - entry.startCount);
      if (seconds !== undefined) return entry.startMs + seconds * 1000;
      this.cursor += 1;
    }
    return undefined;
  }
}

/**
 * Seconds into the stage at which `count` arrivals have accumulated, or
 * undefined when the stage ends first. N(t) = r0·t + (r1 - r0)·t²/(2D);
 * solved as t = 2c / (b + √(b² + 4ac)), stable when the ramp is flat.
 */
function solveWithinStage(stage: RateStage, count: number): number | undefined {
  if (count < 0) return undefined;
  const durationS = stage.durationMs / 1000;
  const a = (stage.toPerSecond - stage.fromPerSecond) / (2 * durationS);
  const b = stage.fromPerSecond;
  if (count === 0) return b > 0 || a > 0 ? 0 : undefined;
  const discriminant = b * b + 4 * a * count;
  if (discriminant < 0) return undefined;
  const denominator = b + Math.sqrt(discriminant);
  if (denominator <= 0) return undefined;
  const seconds = (2 * count) / denominator;
  return seconds < durationS ? seconds : undefined;
}
