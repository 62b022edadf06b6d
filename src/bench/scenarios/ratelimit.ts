import { formatRate, type RateSpec } from '../../config/rate.js';
import type { ResponseRecord } from '../types.js';
import type { Scenario } from './scenario.js';

/**
 * Hammers one tool and checks the limiter: admitted vs limited against
 * `--expect-limit POINTS/WINDOW`, and what every 429 carried (Retry-After,
 * JSON-RPC -32029, RateLimit-Policy / RateLimit / X-RateLimit-*). Every
 * JSON-RPC request the bench sent is counted (initialize and
 * server/discover too, as the gateway charges them; notifications are free).
 *
 * The expected count assumes fixed windows that start at the first request
 * (rate-limiter-flexible's RateLimiterRedis starts a key's window at its
 * first hit), so run against a key with no earlier hits.
 */
export const RATE_LIMITED_RPC_CODE = -32029;

export function createRateLimitScenario(
  expectLimit: RateSpec | undefined,
  tool = 'get_user',
  args: Record<string, unknown> = {},
): Scenario {
  const sends: { at: number; admitted: boolean }[] = [];
  const headers: Record<string, { onLimited: number; onAdmitted: number; sample: string }> = {};
  let limitedWithRetryAfter = 0;
  let limitedWithRpcCode = 0;

  // Every JSON-RPC request the limiter saw counts, handshakes included: the
  // gateway charges initialize and server/discover like any call.
  const observe = (record: ResponseRecord): void => {
    if (record.status === undefined) return;
    const limited = record.status === 429;
    sends.push({ at: record.intendedAt, admitted: !limited });
    for (const [name, value] of Object.entries(record.rateLimitHeaders ?? {})) {
      const entry = (headers[name] ??= { onLimited: 0, onAdmitted: 0, sample: value });
      if (limited) entry.onLimited += 1;
      else entry.onAdmitted += 1;
    }
    if (!limited) return;
    if (record.retryAfterMs !== undefined) limitedWithRetryAfter += 1;
    if (record.rpcCode === RATE_LIMITED_RPC_CODE) limitedWithRpcCode += 1;
  };

  return {
    name: 'ratelimit',
    nextStep: () => ({ method: 'tools/call', tool, args }),
    observe,
    summary: () => {
      const admitted = sends.filter((send) => send.admitted).length;
      const limited = sends.length - admitted;
      const expectedAdmitted = expectLimit ? expectedAdmissions(sends, expectLimit) : null;
      const checks = [];
      if (expectedAdmitted !== null) {
        checks.push({
          name: 'limit held exactly',
          passed: admitted === expectedAdmitted,
          detail: `admitted ${admitted}, expected ${expectedAdmitted} for ${formatRate(expectLimit as RateSpec)}`,
        });
      }
      if (limited > 0) {
        checks.push(
          {
            name: 'every 429 has Retry-After',
            passed: limitedWithRetryAfter === limited,
            detail: `${limitedWithRetryAfter} of ${limited}`,
          },
          {
            name: `every 429 carries JSON-RPC ${RATE_LIMITED_RPC_CODE}`,
            passed: limitedWithRpcCode === limited,
            detail: `${limitedWithRpcCode} of ${limited}`,
          },
        );
      }
      return {
        name: 'ratelimit' as const,
        tool,
        expectLimit: expectLimit ? formatRate(expectLimit) : null,
        sent: sends.length,
        admitted,
        limited,
        expectedAdmitted,
        limitedWithRetryAfter,
        limitedWithRpcCode,
        headers,
        checks,
      };
    },
  };
}

/** Σ over fixed windows (anchored at the first send) of min(points, sent in the window). */
export function expectedAdmissions(sends: readonly { at: number }[], limit: RateSpec): number {
  if (sends.length === 0) return 0;
  const first = sends.reduce((min, send) => Math.min(min, send.at), Number.POSITIVE_INFINITY);
  const perWindow = new Map<number, number>();
  for (const send of sends) {
    const window = Math.floor((send.at - first) / limit.durationMs);
    perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
  }
  let expected = 0;
  for (const sent of perWindow.values()) expected += Math.min(limit.points, sent);
  return expected;
}
