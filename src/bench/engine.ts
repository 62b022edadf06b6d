import { EventEmitter } from 'node:events';
import { createBenchHttpClient } from './clients/http-client.js';
import { runClosedModel, type UserRun } from './load/closed-model.js';
import { closedModelLoad, openModelLoad, summarise, type UserLoad } from './load/offered.js';
import { sliceSize, usersAt } from './load/user-stages.js';
import { runOpenModel } from './load/open-model.js';
import { VuFactory } from './load/vu-factory.js';
import { ArrivalSchedule, rateAt, totalDurationMs } from './load-profile.js';
import { MetricsCollector, type LiveSnapshot } from './metrics.js';
import { runRaw } from './raw-runner.js';
import { buildReport, sampleWorkerRss } from './report.js';
import type { BenchReport, LoadSummary, ScenarioSummary } from './report-schema.js';
import { RunControl } from './run-control.js';
import { createScenario } from './scenarios/index.js';
import type { Scenario } from './scenarios/scenario.js';
import type { BenchOptions, BenchTarget, Era, ResponseRecord } from './types.js';

/**
 * Runs one bench and reports it. The engine only emits events; displays
 * (ink dashboard, plain lines) subscribe and never touch the protocol:
 *   start    once, before the first request
 *   tick     every `tickMs`, with live numbers
 *   response every recorded request
 *   log      a line a scenario wants shown (e.g. "killed worker w2")
 *   done     the final report
 */
export interface BenchStartEvent {
  options: BenchOptions;
  target: BenchTarget;
  startedAt: Date;
  /** Expected length of the load, when known. */
  plannedMs: number | undefined;
}

export interface BenchTickEvent {
  elapsedMs: number;
  plannedMs: number | undefined;
  /** 0..1, from time or from the iteration budget. */
  progress: number;
  /** Open model: the arrival rate the schedule asks for now. */
  targetRatePerSecond: number | undefined;
  virtualUsers: number;
  dropped: number;
  live: LiveSnapshot;
}

export interface BenchEvents {
  start: BenchStartEvent;
  tick: BenchTickEvent;
  response: ResponseRecord;
  log: string;
  done: BenchReport;
}

export class BenchEngine {
  private readonly events = new EventEmitter();
  private readonly control: RunControl;
  private readonly metrics = new MetricsCollector();
  private loadStartMs = 0;
  private factory: VuFactory | undefined;
  private stopRaw: (() => void) | undefined;
  private userRuns: UserRun[] | undefined;

  constructor(
    readonly options: BenchOptions,
    readonly target: BenchTarget,
  ) {
    const closedDeadline = options.durationMs ?? Number.POSITIVE_INFINITY;
    this.control = new RunControl(
      options.model.kind === 'closed' ? closedDeadline : Number.POSITIVE_INFINITY,
      options.iterations,
    );
  }

  on<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  private emit<K extends keyof BenchEvents>(event: K, payload: BenchEvents[K]): void {
    this.events.emit(event, payload);
  }

  /** Graceful stop: no new iterations; running ones get the graceful-stop time. */
  stop(): void {
    this.control.stop();
    this.stopRaw?.();
  }

  async run(): Promise<BenchReport> {
    const { options, target, control } = this;
    const scenario = options.scenario === 'raw' ? undefined : createScenario(options, target);
    const startedAt = new Date();
    const rssAtStart = target.readyInfo ? sampleWorkerRss(target) : undefined;
    const plannedMs = this.plannedMs();
    this.emit('start', { options, target, startedAt, plannedMs });
    const ticker = setInterval(() => this.emit('tick', this.tick(plannedMs)), options.tickMs);
    let summary: ScenarioSummary;
    try {
      summary = scenario ? await this.runScenario(scenario, plannedMs) : await this.runRawScenario();
    } finally {
      clearInterval(ticker);
    }
    const metrics = this.metrics.result();
    // The load window: a drain after the deadline is not time the load ran.
    const loadEndMs = Math.min(control.clock(), control.deadlineMs);
    const durationMs = Math.max(1, loadEndMs - this.loadStartMs);
    const report = buildReport({
      options,
      target,
      startedAt,
      durationMs,
      load: this.loadSummary(metrics.latency.mean, loadEndMs, durationMs, metrics.iterations, summary),
      metrics,
      scenario: summary,
      dropped: control.dropped,
      interrupted: control.interrupted,
      virtualUsers: this.factory?.eraCounts() ?? rawUsers(options),
      workerMemory: rssAtStart ? { start: rssAtStart, end: sampleWorkerRss(target) } : null,
    });
    this.emit('done', report);
    return report;
  }

  private record = (record: ResponseRecord, scenario?: Scenario): void => {
    if (this.control.aborted) {
      this.control.interrupted += 1;
      return;
    }
    this.metrics.record(record);
    scenario?.observe?.(record);
    this.emit('response', record);
  };

  private async runScenario(scenario: Scenario, plannedMs: number | undefined): Promise<ScenarioSummary> {
    const { options, control } = this;
    const http = createBenchHttpClient();
    const factory = new VuFactory(
      options.mix,
      {
        url: this.target.url,
        behaviour: options.behaviour,
        timeoutMs: options.timeoutMs,
        headers: options.headers,
        fetch: http.fetch,
        clock: control.clock,
        record: (record) => this.record(record, scenario),
        signal: control.signal,
        client: options.client ?? 'sdk',
      },
      options.seed,
      options.userSlice,
    );
    this.factory = factory;
    await scenario.start?.({
      options,
      target: this.target,
      clock: control.clock,
      plannedEndMs: plannedMs,
      instanceCounts: () => this.metrics.instanceCounts(),
      log: (message) => this.emit('log', message),
    });
    try {
      const model = options.model;
      if (model.kind === 'closed') {
        this.loadStartMs = control.clock();
        if (model.stages) control.deadlineMs = this.loadStartMs + totalDurationMs(model.stages);
        this.userRuns = await runClosedModel({
          control,
          factory,
          scenario,
          clients: sliceSize(model.clients, options.userSlice),
          thinkMinMs: model.thinkMinMs,
          thinkMaxMs: model.thinkMaxMs,
          gracefulStopMs: options.gracefulStopMs,
          startMs: this.loadStartMs,
          ...(model.stages ? { stages: model.stages } : {}),
        });
        for (const run of this.userRuns) {
          if (run.ended !== 'done' && run.ended !== 'running')
            this.emit('log', `virtual user ${run.vu.index} stopped early: ${run.ended}`);
        }
      } else {
        this.loadStartMs = await runOpenModel({
          control,
          factory,
          scenario,
          stages: model.stages,
          maxClients: model.maxClients,
          preAllocate: model.preAllocate,
          gracefulStopMs: options.gracefulStopMs,
        });
      }
    } finally {
      await scenario.stop?.();
      await factory.closeAll();
      await http.close();
    }
    return scenario.summary(this.metrics.result());
  }

  private async runRawScenario(): Promise<ScenarioSummary> {
    return runRaw({
      options: this.options,
      target: this.target,
      clock: this.control.clock,
      record: (record) => this.record(record),
      onStart: (stop) => {
        this.stopRaw = stop;
        this.loadStartMs = this.control.clock();
      },
    });
  }

  /** Offered versus achieved for the model that ran (load/offered.ts). */
  private loadSummary(
    meanLatencyMs: number,
    loadEndMs: number,
    durationMs: number,
    iterations: number,
    scenario: ScenarioSummary,
  ): LoadSummary {
    const { options } = this;
    const model = options.model;
    const users = this.userLoads(loadEndMs);
    if (options.scenario === 'raw') {
      const rate = scenario.name === 'raw' ? scenario.ratePerSecond : null;
      return summarise({
        model: 'raw',
        offered: rate === null ? null : (rate * durationMs) / 1000,
        achieved: iterations,
        durationMs,
        basis:
          rate === null ? 'autocannon connections send back to back: no offered rate' : `${rate}/s x the run`,
        perUser: [],
        stoppedEarly: 0,
      });
    }
    if (model.kind === 'closed') {
      return closedModelLoad({
        users,
        thinkMinMs: model.thinkMinMs,
        thinkMaxMs: model.thinkMaxMs,
        meanLatencyMs,
        budget: options.iterations,
        durationMs,
        timed: Number.isFinite(this.control.deadlineMs),
      });
    }
    const schedule = new ArrivalSchedule(model.stages);
    return openModelLoad({
      scheduled: schedule.totalArrivals,
      budget: options.iterations,
      achieved: users.reduce((sum, user) => sum + user.iterations, 0),
      durationMs,
      users,
      basis: `the arrival schedule: ${schedule.totalArrivals} arrivals over ${schedule.totalMs / 1000}s`,
    });
  }

  private userLoads(loadEndMs: number): UserLoad[] {
    const runs = new Map((this.userRuns ?? []).map((run) => [run.vu, run]));
    return (this.factory?.all ?? []).map((vu) => {
      const run = runs.get(vu);
      const activeMs = (run?.windows ?? []).reduce(
        (sum, w) => sum + Math.max(0, Math.min(w.endMs, loadEndMs) - Math.max(w.startMs, this.loadStartMs)),
        0,
      );
      return {
        vu: vu.index,
        era: vu.era,
        iterations: vu.completed,
        activeMs,
        setupMs: vu.setupMs,
        retryWaitMs: run?.retryWaitMs ?? 0,
        requestMs: vu.requestMs,
        stoppedEarly: run !== undefined && run.ended !== 'done' && run.ended !== 'running',
      };
    });
  }

  private plannedMs(): number | undefined {
    const model = this.options.model;
    if (model.kind === 'open') return totalDurationMs(model.stages);
    if (model.stages) return totalDurationMs(model.stages);
    return this.options.durationMs;
  }

  private tick(plannedMs: number | undefined): BenchTickEvent {
    const elapsedMs = this.control.clock();
    const model = this.options.model;
    const loadElapsed = Math.max(0, elapsedMs - this.loadStartMs);
    const live = this.metrics.snapshot(elapsedMs);
    const byTime = plannedMs ? loadElapsed / plannedMs : 0;
    const byCount = this.options.iterations ? live.iterations / this.options.iterations : 0;
    return {
      elapsedMs,
      plannedMs,
      progress: Math.min(1, Math.max(byTime, byCount)),
      targetRatePerSecond: model.kind === 'open' ? rateAt(model.stages, loadElapsed) : undefined,
      virtualUsers:
        model.kind === 'closed' && model.stages
          ? sliceSize(usersAt(model.stages, loadElapsed), this.options.userSlice)
          : (this.factory?.count ?? 0),
      dropped: this.control.dropped,
      live,
    };
  }
}

function rawUsers(options: BenchOptions): Record<Era, number> {
  const model = options.model;
  return { '2025': model.kind === 'closed' ? model.clients : model.maxClients, '2026': 0 };
}

/** Runs a bench to completion (no display). */
export async function runBench(options: BenchOptions, target: BenchTarget): Promise<BenchReport> {
  return new BenchEngine(options, target).run();
}
