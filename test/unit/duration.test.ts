import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { formatRate, parseRate } from '../../src/config/rate.js';

describe('duration syntax', () => {
  it.each([
    ['20ms', 20],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['10', 10_000],
    ['0.5s', 500],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '5 minutes', '-1s', '1y', '1h30m'])('rejects %j with a one-line message', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });

  it('formats back to the same syntax', () => {
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(7_200_000)).toBe('2h');
  });
});

describe('rate syntax', () => {
  it('parses points per window', () => {
    expect(parseRate('60/1m')).toEqual({ points: 60, durationMs: 60_000 });
    expect(parseRate('200/s')).toEqual({ points: 200, durationMs: 1000 });
    expect(formatRate({ points: 10, durationMs: 60_000 })).toBe('10/1m');
  });

  it.each(['60', '0/1m', 'x/1m', '60/1m/2', '60/abc', '1.5/1m'])('rejects %j', (text) => {
    expect(() => parseRate(text)).toThrow(/invalid rate/);
  });
});
