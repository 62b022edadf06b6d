import { UserError } from '../errors.js';
import { formatDuration, parseDuration } from './duration.js';

/** `60/1m`: 60 points per one-minute window. */
export interface RateSpec {
  points: number;
  durationMs: number;
}

export function parseRate(input: string, what = 'rate'): RateSpec {
  const [pointsText, windowText, ...rest] = input.trim().split('/');
  const points = Number(pointsText);
  if (rest.length > 0 || windowText === undefined || !Number.isInteger(points) || points <= 0) {
    throw new UserError(`invalid ${what} '${input}': use POINTS/DURATION, e.g. 60/1m`);
  }
  // `200/s` reads naturally; accept a bare unit as "one of that unit".
  const window = /^(ms|s|m|h|d)$/.test(windowText) ? `1${windowText}` : windowText;
  const durationMs = parseDuration(window, what);
  if (durationMs <= 0) throw new UserError(`invalid ${what} '${input}': the window must be longer than 0`);
  return { points, durationMs };
}

export function formatRate(rate: RateSpec): string {
  return `${rate.points}/${formatDuration(rate.durationMs)}`;
}

/** Requests per second a rate spec stands for. */
export function ratePerSecond(rate: RateSpec): number {
  return (rate.points * 1000) / rate.durationMs;
}
