import { processRssBytes } from '../util/process.js';
import { sliceSize } from './load/user-stages.js';
import type { MetricsResult } from './metrics.js';
import { REPORT_VERSION, type BenchReport, type LoadSummary, type ScenarioSummary } from './report-schema.js';
import type { BenchOptions, BenchTarget, Era } from './types.js';

/**
 * Turns what a run measured into the versioned report (report-schema.ts).
 * Thresholds and capacity are filled in afterwards by their own modules.
 */
export interface ReportInput {
  options: BenchOptions;
  target: BenchTarget;
  startedAt: Date;
  /** The load window: first scheduled request to the deadline (or the end, if earlier). */
  durationMs: number;
  metrics: MetricsResult;
  scenario: ScenarioSummary;
  dropped: number;
  interrupted: number;
  virtualUsers: Record<Era, number>;
  /** Worker RSS at the start and end of the run (ready-file targets only). */
  workerMemory?: BenchReport['workerMemory'];
  /** Offered versus achieved (load/offered.ts). */
  load: LoadSummary;
}

export function generatorVersion(): string {
  return process.env.npm_package_version ?? '0.1.0';
}

export function buildReport(input: ReportInput): BenchReport {
  const { options, metrics } = input;
  const seconds = input.durationMs / 1000;
  const model = options.model;
  const marked = metrics.cache.hits + metrics.cache.misses;
  const era = (e: Era) => ({ virtualUsers: input.virtualUsers[e], ...metrics.eras[e] });
  return {
    schema: 'mcp-scale/bench-report',
    schemaVersion: REPORT_VERSION,
    generator: { name: 'mcp-scale', version: generatorVersion() },
    startedAt: input.startedAt.toISOString(),
    durationMs: round(input.durationMs),
    target: { url: input.target.url, instances: input.target.readyInfo?.instances.length ?? null },
    options: {
      scenario: options.scenario,
      model: model.kind,
      era: options.mix['2025'] === 100 ? '2025' : options.mix['2026'] === 100 ? '2026' : 'mixed',
      mix: { ...options.mix },
      // With --procs, each process reports its own share; the merge adds them back up.
      clients: model.kind === 'closed' ? sliceSize(model.clients, options.userSlice) : null,
      maxClients: model.kind === 'open' ? model.maxClients : null,
      stages: model.kind === 'open' ? model.stages.map((stage) => ({ ...stage })) : null,
      userStages:
        model.kind === 'closed' && model.stages
          ? model.stages.map((stage) => ({
              from: sliceSize(stage.from, options.userSlice),
              to: sliceSize(stage.to, options.userSlice),
              durationMs: stage.durationMs,
            }))
          : null,
      procs: options.procs ?? 1,
      client: options.client ?? 'sdk',
      durationMs: options.durationMs ?? null,
      iterations: options.iterations ?? null,
      thinkMs:
        model.kind === 'closed' ? { min: model.thinkMinMs, max: model.thinkMaxMs } : { min: 0, max: 0 },
      timeoutMs: options.timeoutMs,
      behaviour: { ...options.behaviour },
      seed: options.seed,
    },
    totals: {
      requests: metrics.requests,
      iterations: metrics.iterations,
      ok: metrics.ok,
      errors: metrics.errors,
      errorRate: metrics.requests > 0 ? metrics.errors / metrics.requests : 0,
      requestsPerSecond: round(metrics.requests / seconds),
      iterationsPerSecond: round(metrics.iterations / seconds),
      dropped: input.dropped,
      interrupted: input.interrupted,
    },
    latency: {
      all: metrics.latency,
      setup: metrics.setupLatency,
      byMethod: metrics.byMethod,
      byTool: metrics.byTool,
    },
    errors: {
      byKind: metrics.errorsByKind,
      byStatus: metrics.errorsByStatus,
      byRpcCode: metrics.errorsByRpcCode,
      samples: metrics.errorSamples,
    },
    sessions: metrics.sessions,
    rateLimit: metrics.limits,
    cache: { ...metrics.cache, hitRatio: marked > 0 ? metrics.cache.hits / marked : null },
    instances: metrics.instances,
    workerMemory: input.workerMemory ?? null,
    eras: { '2025': era('2025'), '2026': era('2026') },
    timeline: metrics.timeline,
    load: input.load,
    histograms: metrics.histograms,
    scenario: input.scenario,
    capacity: null,
    thresholds: [],
    passed: true,
  };
}

/** RSS of each worker the ready file lists, read from /proc now. */
export function sampleWorkerRss(target: BenchTarget): { id: string; pid: number; rssBytes: number | null }[] {
  return (target.readyInfo?.instances ?? []).map(({ id, pid }) => ({
    id,
    pid,
    rssBytes: processRssBytes(pid) ?? null,
  }));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
