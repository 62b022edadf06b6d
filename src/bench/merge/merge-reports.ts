import { UserError } from '../../errors.js';
import { summarise } from '../load/offered.js';
import { benchReportSchema, REPORT_VERSION, type BenchReport } from '../report-schema.js';
import { mergeLatency } from './merge-latency.js';
import { mergeScenario } from './merge-scenario.js';

/**
 * Reports of runs that loaded the same target at the same time (--procs
 * workers, or the pods of a Kubernetes Job) merged into one report of the
 * same schema: counters add up, latency distributions are added exactly
 * from the encoded histograms, rates are over the longest load window,
 * offered and achieved add up and are judged again. Thresholds are not
 * carried over: the caller evaluates its own on the merged report.
 */
export function mergeReports(reports: readonly BenchReport[]): BenchReport {
  const [first] = reports;
  if (!first) throw new UserError('bench merge needs at least one report');
  const durationMs = Math.max(...reports.map((r) => r.durationMs));
  const seconds = durationMs / 1000;
  const sum = (pick: (r: BenchReport) => number): number => reports.reduce((n, r) => n + pick(r), 0);
  const requests = sum((r) => r.totals.requests);
  const iterations = sum((r) => r.totals.iterations);
  const errors = sum((r) => r.totals.errors);
  const latency = mergeLatency(reports);
  const cache = {
    hits: sum((r) => r.cache.hits),
    misses: sum((r) => r.cache.misses),
    unmarked: sum((r) => r.cache.unmarked),
    byTool: addNested(reports.map((r) => r.cache.byTool)),
  };
  const marked = cache.hits + cache.misses;
  const sessions = {
    opened: sum((r) => r.sessions.opened),
    kept: sum((r) => r.sessions.kept),
    lost: sum((r) => r.sessions.lost),
    instanceChanges: sum((r) => r.sessions.instanceChanges),
    sessionsWithInstanceChange: sum((r) => r.sessions.sessionsWithInstanceChange),
  };
  const limited = sum((r) => r.rateLimit.limited);
  const withRetryAfter = sum((r) => r.rateLimit.withRetryAfter);
  return {
    schema: 'mcp-scale/bench-report',
    schemaVersion: REPORT_VERSION,
    generator: first.generator,
    startedAt: reports.map((r) => r.startedAt).sort()[0] ?? first.startedAt,
    durationMs,
    target: {
      url: first.target.url,
      instances: Math.max(...reports.map((r) => r.target.instances ?? 0)) || first.target.instances,
    },
    options: mergeOptions(reports),
    totals: {
      requests,
      iterations,
      ok: sum((r) => r.totals.ok),
      errors,
      errorRate: requests > 0 ? errors / requests : 0,
      requestsPerSecond: round(requests / seconds),
      iterationsPerSecond: round(iterations / seconds),
      dropped: sum((r) => r.totals.dropped),
      interrupted: sum((r) => r.totals.interrupted),
    },
    latency: latency.latency,
    errors: {
      byKind: addCounts(reports.map((r) => r.errors.byKind)),
      byStatus: addCounts(reports.map((r) => r.errors.byStatus)),
      byRpcCode: addCounts(reports.map((r) => r.errors.byRpcCode)),
      samples: Object.assign({}, ...[...reports].reverse().map((r) => r.errors.samples)) as Record<
        string,
        string
      >,
    },
    sessions,
    rateLimit: {
      limited,
      withRetryAfter,
      withoutRetryAfter: limited - withRetryAfter,
      rpcCodes: addCounts(reports.map((r) => r.rateLimit.rpcCodes)),
      headersSeen: Object.assign({}, ...[...reports].reverse().map((r) => r.rateLimit.headersSeen)) as Record<
        string,
        string
      >,
    },
    cache: { ...cache, hitRatio: marked > 0 ? cache.hits / marked : null },
    instances: addCounts(reports.map((r) => r.instances)),
    workerMemory: mergeWorkerMemory(reports),
    eras: {
      '2025': mergeEra(reports.map((r) => r.eras['2025'])),
      '2026': mergeEra(reports.map((r) => r.eras['2026'])),
    },
    timeline: latency.timeline,
    load: mergeLoad(reports, durationMs),
    histograms: latency.histograms,
    scenario: mergeScenario(reports.map((r) => r.scenario)),
    capacity: null,
    thresholds: [],
    passed: true,
  };
}

/** Reads and checks one report file's JSON (a report of this schema version, with its histograms). */
export function parseReport(text: string, name: string): BenchReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${name}: not JSON`);
  }
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== REPORT_VERSION)
    throw new UserError(
      `${name}: bench report schemaVersion ${String(version)}, this merge reads ${REPORT_VERSION}`,
    );
  const parsed = benchReportSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(
      `${name}: not a bench report of this version (${issue ? `${issue.path.join('.') || '/'}: ${issue.message}` : 'invalid'})`,
    );
  }
  return parsed.data;
}

function mergeOptions(reports: readonly BenchReport[]): BenchReport['options'] {
  const first = reports[0]?.options;
  if (!first) throw new UserError('bench merge needs at least one report');
  for (const r of reports) {
    if (r.options.model !== first.model)
      throw new UserError(
        `cannot merge a ${first.model}-model report with a ${r.options.model}-model report`,
      );
  }
  const sumNullable = (pick: (o: BenchReport['options']) => number | null): number | null =>
    reports.every((r) => pick(r.options) !== null)
      ? reports.reduce((n, r) => n + (pick(r.options) ?? 0), 0)
      : null;
  return {
    ...first,
    clients: sumNullable((o) => o.clients),
    maxClients: sumNullable((o) => o.maxClients),
    iterations: sumNullable((o) => o.iterations),
    stages: sameShape(reports.map((r) => r.options.stages))
      ? (first.stages?.map((stage, i) => ({
          ...stage,
          fromPerSecond: reports.reduce((n, r) => n + (r.options.stages?.[i]?.fromPerSecond ?? 0), 0),
          toPerSecond: reports.reduce((n, r) => n + (r.options.stages?.[i]?.toPerSecond ?? 0), 0),
        })) ?? null)
      : first.stages,
    userStages: sameShape(reports.map((r) => r.options.userStages))
      ? (first.userStages?.map((stage, i) => ({
          ...stage,
          from: reports.reduce((n, r) => n + (r.options.userStages?.[i]?.from ?? 0), 0),
          to: reports.reduce((n, r) => n + (r.options.userStages?.[i]?.to ?? 0), 0),
        })) ?? null)
      : first.userStages,
    procs: reports.reduce((n, r) => n + r.options.procs, 0),
  };
}

/** Stage lists with the same durations (levels add up stage by stage). */
function sameShape(lists: readonly ({ durationMs: number }[] | null)[]): boolean {
  const [first] = lists;
  return lists.every(
    (list) =>
      (list === null) === (first === null) &&
      (list ?? []).length === (first ?? []).length &&
      (list ?? []).every((stage, i) => stage.durationMs === first?.[i]?.durationMs),
  );
}

function mergeLoad(reports: readonly BenchReport[], durationMs: number): BenchReport['load'] {
  const loads = reports.map((r) => r.load);
  const offered = loads.every((l) => l.offered.iterations !== null)
    ? loads.reduce((n, l) => n + (l.offered.iterations ?? 0), 0)
    : null;
  // Users keep their numbers when the reports' numbers are disjoint (--procs), else are renumbered.
  const vus = loads.flatMap((l) => l.perUser.map((u) => u.vu));
  const disjoint = new Set(vus).size === vus.length;
  let offset = 0;
  const perUser = loads.flatMap((l) => {
    const users = l.perUser.map((u) => (disjoint ? u : { ...u, vu: u.vu + offset }));
    offset += l.perUser.length;
    return users;
  });
  return summarise({
    model: loads[0]?.model ?? 'closed',
    offered,
    achieved: loads.reduce((n, l) => n + l.achieved.iterations, 0),
    durationMs,
    basis:
      loads.length === 1
        ? (loads[0]?.offered.basis ?? '')
        : `the sum of ${loads.length} reports: ${loads[0]?.offered.basis ?? ''}`,
    perUser: perUser.sort((a, b) => a.vu - b.vu),
    stoppedEarly: loads.reduce((n, l) => n + l.stoppedEarly, 0),
  });
}

function mergeEra(eras: readonly BenchReport['eras']['2025'][]): BenchReport['eras']['2025'] {
  return {
    virtualUsers: eras.reduce((n, e) => n + e.virtualUsers, 0),
    requests: eras.reduce((n, e) => n + e.requests, 0),
    errors: eras.reduce((n, e) => n + e.errors, 0),
    protocolVersions: addCounts(eras.map((e) => e.protocolVersions)),
  };
}

function addCounts(maps: readonly Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const map of maps) for (const [key, n] of Object.entries(map)) merged[key] = (merged[key] ?? 0) + n;
  return Object.fromEntries(Object.entries(merged).sort((a, b) => a[0].localeCompare(b[0])));
}

function addNested(
  maps: readonly Record<string, { hits: number; misses: number }>[],
): Record<string, { hits: number; misses: number }> {
  const merged: Record<string, { hits: number; misses: number }> = {};
  for (const map of maps) {
    for (const [key, value] of Object.entries(map)) {
      const entry = (merged[key] ??= { hits: 0, misses: 0 });
      entry.hits += value.hits;
      entry.misses += value.misses;
    }
  }
  return merged;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Worker RSS of the merged run: the first report's start sample, the last report's end sample. */
function mergeWorkerMemory(reports: readonly BenchReport[]): BenchReport['workerMemory'] {
  const sampled = reports.filter((r) => r.workerMemory);
  const first = sampled[0]?.workerMemory;
  const last = sampled[sampled.length - 1]?.workerMemory;
  return first && last ? { start: first.start, end: last.end } : null;
}
