import type { LoadSummary, UserIterations } from '../report-schema.js';
import type { Era } from '../types.js';

/**
 * Offered versus achieved: the load the model should have produced and the
 * load it did produce, so a generator that stops loading cannot look
 * healthy. An iteration is one scenario step: its request and the think
 * time after it.
 *
 * Closed model, per user: it runs for W ms (its active windows within the
 * load), spends S ms opening sessions and R ms waiting out Retry-After, and
 * its requests take L ms on average. Its k-th request is due at
 * k·think + (k-1)·L after the start, so it should complete
 *   n = ceil(x) - 1 with x = (W - S - R + L) / (think + L)   (fixed think)
 *   n = x - 1/2                                            (random think)
 * requests: "users × duration / (think + latency)", counted exactly.
 * Open model: the arrivals the schedule holds.
 */
export const SHORTFALL_RATIO = 0.95;

export interface UserLoad {
  vu: number;
  era: Era;
  /** Iterations that ran to the end. */
  iterations: number;
  /** How long the user was meant to run within the load window, ms. */
  activeMs: number;
  setupMs: number;
  retryWaitMs: number;
  requestMs: number;
  /** The loop ended while the user should still have been running. */
  stoppedEarly: boolean;
}

export interface ClosedLoadInput {
  users: UserLoad[];
  thinkMinMs: number;
  thinkMaxMs: number;
  /** Mean request latency of the whole run, for users that completed none. */
  meanLatencyMs: number;
  /** --iterations, when it bounds the run. */
  budget: number | undefined;
  /** The load window, ms. */
  durationMs: number;
  /** false: only --iterations bounds the run (the budget is the offer). */
  timed: boolean;
}

export function closedModelLoad(input: ClosedLoadInput): LoadSummary {
  const thinkMs = (input.thinkMinMs + input.thinkMaxMs) / 2;
  const fixedThink = input.thinkMinMs === input.thinkMaxMs;
  const perUser: UserIterations[] = input.users.map((user) => {
    const latency = user.iterations > 0 ? user.requestMs / user.iterations : input.meanLatencyMs;
    const cycle = thinkMs + latency;
    let offered: number | null = null;
    if (input.timed && cycle > 0) {
      const x = (user.activeMs - user.setupMs - user.retryWaitMs + latency) / cycle;
      offered = round(Math.max(0, fixedThink ? Math.ceil(x - 1e-9) - 1 : x - 0.5));
    }
    return { vu: user.vu, era: user.era, iterations: user.iterations, offered };
  });
  const sum = perUser.reduce((total, user) => total + (user.offered ?? 0), 0);
  const timedOffer = input.timed ? sum : undefined;
  const offered = round(
    Math.min(timedOffer ?? Number.POSITIVE_INFINITY, input.budget ?? Number.POSITIVE_INFINITY),
  );
  const users = input.users.length;
  const basis = input.timed
    ? `${users} users x their active time / (${trim(thinkMs)}ms think + latency)${input.budget ? `, at most --iterations ${input.budget}` : ''}`
    : `--iterations ${input.budget ?? 0}`;
  return summarise({
    model: 'closed',
    offered: Number.isFinite(offered) ? offered : null,
    achieved: perUser.reduce((total, user) => total + user.iterations, 0),
    durationMs: input.durationMs,
    basis,
    perUser,
    stoppedEarly: input.users.filter((user) => user.stoppedEarly).length,
  });
}

export interface OpenLoadInput {
  /** Arrivals the schedule holds within the load window. */
  scheduled: number;
  budget: number | undefined;
  achieved: number;
  durationMs: number;
  users: UserLoad[];
  basis: string;
}

export function openModelLoad(input: OpenLoadInput): LoadSummary {
  return summarise({
    model: 'open',
    offered: Math.min(input.scheduled, input.budget ?? Number.POSITIVE_INFINITY),
    achieved: input.achieved,
    durationMs: input.durationMs,
    basis: input.basis,
    perUser: input.users.map((user) => ({
      vu: user.vu,
      era: user.era,
      iterations: user.iterations,
      offered: null,
    })),
    stoppedEarly: 0,
  });
}

export interface LoadParts {
  model: LoadSummary['model'];
  offered: number | null;
  achieved: number;
  durationMs: number;
  basis: string;
  perUser: UserIterations[];
  stoppedEarly: number;
}

/** The report's `load` section from its parts (also how merged reports recompute it). */
export function summarise(parts: LoadParts): LoadSummary {
  const seconds = Math.max(parts.durationMs, 1) / 1000;
  const ratio = parts.offered === null || parts.offered <= 0 ? null : parts.achieved / parts.offered;
  const warnings: string[] = [];
  if (ratio !== null && ratio < SHORTFALL_RATIO) {
    warnings.push(
      `achieved ${num(parts.achieved)} of ${num(parts.offered ?? 0)} offered iterations (${pct(ratio)}): the bench produced less load than asked`,
    );
  }
  if (parts.stoppedEarly > 0) {
    warnings.push(`${parts.stoppedEarly} virtual user(s) stopped before the end of the run`);
  }
  const idle = parts.perUser.filter((user) => user.iterations === 0 && (user.offered ?? 0) >= 1).length;
  if (idle > 0) warnings.push(`${idle} virtual user(s) completed no iteration although they should have`);
  return {
    model: parts.model,
    offered: {
      iterations: parts.offered === null ? null : round(parts.offered),
      perSecond: parts.offered === null ? null : round(parts.offered / seconds),
      basis: parts.basis,
    },
    achieved: { iterations: parts.achieved, perSecond: round(parts.achieved / seconds) },
    achievedRatio: ratio === null ? null : round(ratio),
    shortfall: ratio !== null && ratio < SHORTFALL_RATIO,
    stoppedEarly: parts.stoppedEarly,
    warnings,
    perUser: parts.perUser,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
const trim = (n: number): string => Number(n.toFixed(2)).toString();
const num = (n: number): string => Number(n.toFixed(1)).toLocaleString('en-US');
const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
