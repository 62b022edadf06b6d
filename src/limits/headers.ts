import { errorBody, type JsonRpcId, RPC } from '../protocol/jsonrpc.js';
import type { PolicySpec } from './policies.js';

/** Where one subject stands in one policy after a consume. */
export interface Standing {
  policy: PolicySpec;
  remaining: number;
  /** Milliseconds until the window (or the block) ends. */
  resetMs: number;
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** An sf-string (RFC 8941): policy names are ours, but quote and escape them properly anyway. */
const sfString = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * The IETF fields (draft-ietf-httpapi-ratelimit-headers, structured-field
 * lists with one item per policy), e.g.
 *   RateLimit-Policy: "user";q=60;w=60, "tool:search_products";q=10;w=60
 *   RateLimit: "user";r=59;t=42, "tool:search_products";r=9;t=42
 * plus the legacy X-RateLimit-* for the policy that binds (`binding`):
 * X-RateLimit-Reset is a Unix time in seconds, as GitHub and express-rate-limit send it.
 */
export function rateLimitHeaders(
  standings: Standing[],
  binding: Standing,
  now = Date.now(),
): Record<string, string> {
  return {
    'ratelimit-policy': standings
      .map((s) => `${sfString(s.policy.name)};q=${s.policy.points};w=${s.policy.durationMs / 1000}`)
      .join(', '),
    ratelimit: standings
      .map((s) => `${sfString(s.policy.name)};r=${s.remaining};t=${seconds(s.resetMs)}`)
      .join(', '),
    'x-ratelimit-limit': String(binding.policy.points),
    'x-ratelimit-remaining': String(binding.remaining),
    'x-ratelimit-reset': String(Math.ceil((now + binding.resetMs) / 1000)),
  };
}

/** The policy an admitted response reports in X-RateLimit-*: the fewest points left, then the latest reset. */
export function bindingStanding(standings: Standing[]): Standing | undefined {
  let binding: Standing | undefined;
  for (const s of standings) {
    if (
      !binding ||
      s.remaining < binding.remaining ||
      (s.remaining === binding.remaining && s.resetMs > binding.resetMs)
    ) {
      binding = s;
    }
  }
  return binding;
}

/**
 * HTTP 429 with Retry-After and a JSON-RPC error per request id: one object
 * for a single request, an array (a batch of errors) for a batch.
 */
export function limitedBody(ids: JsonRpcId[], batch: boolean, refusedBy: Standing): string {
  const data = { retryAfter: seconds(refusedBy.resetMs), policy: refusedBy.policy.name };
  const bodies = (ids.length > 0 ? ids : [null]).map((id) =>
    errorBody(id, RPC.rateLimited, 'Rate limit exceeded', data),
  );
  return batch ? `[${bodies.join(',')}]` : (bodies[0] as string);
}

export function retryAfterSeconds(ms: number): number {
  return seconds(ms);
}
