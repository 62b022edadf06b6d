import type { LimitsConfig } from '../config/cluster-config.js';
import { formatDuration } from '../config/duration.js';
import { formatRate, type RateSpec } from '../config/rate.js';
import { UserError } from '../errors.js';

/**
 * The named budgets the gateway enforces. Each is one rate-limiter-flexible
 * limiter whose Redis keys are `{prefix}rl:{name}:{subject}`:
 *
 *   user              --rate-limit     subject = the user (the client IP with --auth none)
 *   ip                --ip-rate-limit  subject = the client IP, for requests without a user
 *   tool:{tool}       --tool-limit     subject = the user (client IP with --auth none)
 *
 * The names are also what clients see in `RateLimit-Policy` / `RateLimit`.
 */
export interface PolicySpec {
  name: string;
  points: number;
  durationMs: number;
  /** Refuse the subject this long once it goes over (--block); 0 = until the window ends. */
  blockMs: number;
}

export interface PolicySet {
  user?: PolicySpec;
  ip?: PolicySpec;
  /** Tool name → its per-user policy. */
  tools: Map<string, PolicySpec>;
  /** Points one call of the tool takes from the user budget (default 1). */
  toolCosts: Record<string, number>;
}

export const USER_POLICY = 'user';
export const IP_POLICY = 'ip';
export const toolPolicyName = (tool: string): string => `tool:${tool}`;

/** Turns the config's limits into policies, refusing windows rate-limiter-flexible cannot express. */
export function policiesFrom(limits: LimitsConfig): PolicySet {
  const blockMs = limits.blockMs ?? 0;
  if (blockMs > 0) wholeSeconds(blockMs, '--block', formatDuration(blockMs));
  const make = (name: string, rate: RateSpec, flag: string): PolicySpec => {
    wholeSeconds(rate.durationMs, flag, formatRate(rate));
    return { name, points: rate.points, durationMs: rate.durationMs, blockMs };
  };
  const tools = new Map<string, PolicySpec>();
  for (const [tool, rate] of Object.entries(limits.toolLimits)) {
    if (tool.includes(':') || tool.length === 0) {
      throw new UserError(`--tool-limit ${tool}: a tool name may not be empty or contain ':'`);
    }
    tools.set(tool, make(toolPolicyName(tool), rate, `--tool-limit ${tool}`));
  }
  return {
    user: limits.rateLimit ? make(USER_POLICY, limits.rateLimit, '--rate-limit') : undefined,
    ip: limits.ipRateLimit ? make(IP_POLICY, limits.ipRateLimit, '--ip-rate-limit') : undefined,
    tools,
    toolCosts: { ...limits.toolCosts },
  };
}

export function hasPolicies(set: PolicySet): boolean {
  return set.user !== undefined || set.ip !== undefined || set.tools.size > 0;
}

export function allPolicies(set: PolicySet): PolicySpec[] {
  return [set.user, set.ip, ...set.tools.values()].filter((p): p is PolicySpec => p !== undefined);
}

/**
 * rate-limiter-flexible counts durations in whole seconds (a 500ms window
 * would become a key that never expires), so say so instead of misbehaving.
 */
function wholeSeconds(ms: number, flag: string, shown: string): void {
  if (ms < 1000 || ms % 1000 !== 0) {
    throw new UserError(`${flag} ${shown}: windows and blocks must be whole seconds (e.g. 10/1s, 60/1m)`);
  }
}
