import { UserError } from '../../errors.js';
import type { ScenarioCheck, ScenarioSummary } from '../report-schema.js';

/**
 * A scenario's own numbers across merged reports: counts add up; a check
 * passes only if it passed in every report (its detail says where it did
 * not); values that describe the target rather than the load (the limit
 * asked for, the worker killed) come from the first report that has one.
 */
export function mergeScenario(summaries: readonly ScenarioSummary[]): ScenarioSummary {
  const [first, ...rest] = summaries;
  if (!first) throw new UserError('bench merge needs at least one report');
  for (const other of rest) {
    if (other.name !== first.name)
      throw new UserError(`cannot merge a ${first.name} report with a ${other.name} report`);
  }
  const checks = mergeChecks(summaries.map((s) => s.checks));
  const total = <K extends string>(key: K): number =>
    summaries.reduce((sum, s) => sum + (((s as Record<string, unknown>)[key] as number | undefined) ?? 0), 0);
  switch (first.name) {
    case 'mixed':
      return { name: 'mixed', checks };
    case 'script':
      return { ...first, checks };
    case 'affinity':
      return {
        ...first,
        checks,
        sessions: total('sessions'),
        sessionsWithInstanceChange: total('sessionsWithInstanceChange'),
        instanceChanges: total('instanceChanges'),
        responsesWithoutInstance: total('responsesWithoutInstance'),
      };
    case 'ratelimit': {
      const all = summaries as Extract<ScenarioSummary, { name: 'ratelimit' }>[];
      const headers: typeof first.headers = {};
      for (const s of all) {
        for (const [name, seen] of Object.entries(s.headers)) {
          const merged = (headers[name] ??= { onLimited: 0, onAdmitted: 0, sample: seen.sample });
          merged.onLimited += seen.onLimited;
          merged.onAdmitted += seen.onAdmitted;
        }
      }
      return {
        ...first,
        checks,
        sent: total('sent'),
        admitted: total('admitted'),
        limited: total('limited'),
        limitedWithRetryAfter: total('limitedWithRetryAfter'),
        limitedWithRpcCode: total('limitedWithRpcCode'),
        headers,
      };
    }
    case 'cache': {
      const hits = total('hits');
      const misses = total('misses');
      return {
        ...first,
        checks,
        hits,
        misses,
        unmarked: total('unmarked'),
        hitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
      };
    }
    case 'failover': {
      const all = summaries as Extract<ScenarioSummary, { name: 'failover' }>[];
      const lastErrors = all.map((s) => s.lastErrorAfterKillMs).filter((v): v is number => v !== null);
      return {
        ...first,
        checks,
        killed: all.find((s) => s.killed)?.killed ?? null,
        sessionsOnKilledInstance: total('sessionsOnKilledInstance'),
        sessionsRehomed: total('sessionsRehomed'),
        sessionsLost: total('sessionsLost'),
        errorsAfterKill: total('errorsAfterKill'),
        lastErrorAfterKillMs: lastErrors.length > 0 ? Math.max(...lastErrors) : null,
      };
    }
    case 'raw': {
      const all = summaries as Extract<ScenarioSummary, { name: 'raw' }>[];
      const sum = (pick: (s: (typeof all)[number]) => number) => all.reduce((n, s) => n + pick(s), 0);
      const rates = all.map((s) => s.ratePerSecond).filter((v): v is number => v !== null);
      return {
        ...first,
        checks,
        connections: sum((s) => s.connections),
        sessionsOpened: sum((s) => s.sessionsOpened),
        ratePerSecond: rates.length === all.length ? rates.reduce((a, b) => a + b, 0) : null,
        autocannon: {
          requestsPerSecond: sum((s) => s.autocannon.requestsPerSecond),
          // autocannon's own percentiles cannot be merged; the report's latency section is exact.
          p50: Math.max(...all.map((s) => s.autocannon.p50)),
          p99: Math.max(...all.map((s) => s.autocannon.p99)),
          errors: sum((s) => s.autocannon.errors),
          timeouts: sum((s) => s.autocannon.timeouts),
          non2xx: sum((s) => s.autocannon.non2xx),
        },
      };
    }
  }
}

function mergeChecks(lists: readonly ScenarioCheck[][]): ScenarioCheck[] {
  const byName = new Map<string, { passed: boolean; details: string[] }>();
  lists.forEach((checks, reportIndex) => {
    for (const check of checks) {
      const entry = byName.get(check.name) ?? { passed: true, details: [] };
      entry.passed &&= check.passed;
      entry.details.push(lists.length > 1 ? `#${reportIndex + 1}: ${check.detail}` : check.detail);
      byName.set(check.name, entry);
    }
  });
  return [...byName.entries()].map(([name, entry]) => ({
    name,
    passed: entry.passed,
    detail: entry.details.join('; '),
  }));
}
