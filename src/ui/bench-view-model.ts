import type { BenchEvents, BenchStartEvent, BenchTickEvent } from '../bench/engine.js';
import { NO_INSTANCE } from '../bench/timeline.js';

/**
 * What the bench displays show, computed from engine events only. Both the
 * ink dashboard and the plain progress lines use it, so they agree.
 */
export interface BenchEventSource {
  on<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): unknown;
  off<K extends keyof BenchEvents>(event: K, listener: (payload: BenchEvents[K]) => void): unknown;
}

export interface BenchViewModel {
  title: string;
  progress: number;
  elapsedS: number;
  plannedS: number | undefined;
  leftS: number | undefined;
  ratePerSecond: number;
  targetRatePerSecond: number | undefined;
  requests: number;
  iterations: number;
  virtualUsers: number;
  dropped: number;
  p50: number;
  p99: number;
  lastSecondP99: number | undefined;
  errors: number;
  errorRate: number;
  limited: number;
  sessionsOpened: number;
  sessionsLost: number;
  instances: { id: string; count: number; share: number }[];
}

export function describeStart(start: BenchStartEvent): string {
  const { options } = start;
  const model =
    options.model.kind === 'closed'
      ? `closed model, ${options.model.clients} clients`
      : `open model, pool of ${options.model.maxClients}`;
  return `mcp-scale bench ${options.scenario} (${model}) -> ${start.target.url}`;
}

export function viewModel(start: BenchStartEvent | undefined, tick: BenchTickEvent): BenchViewModel {
  const live = tick.live;
  const elapsedS = tick.elapsedMs / 1000;
  const plannedS = tick.plannedMs === undefined ? undefined : tick.plannedMs / 1000;
  const total = Object.values(live.instances).reduce((sum, n) => sum + n, 0);
  return {
    title: start ? describeStart(start) : 'mcp-scale bench',
    progress: tick.progress,
    elapsedS,
    plannedS,
    leftS: plannedS === undefined ? undefined : Math.max(0, plannedS * (1 - tick.progress)),
    ratePerSecond: live.lastSecond?.requests ?? 0,
    targetRatePerSecond: tick.targetRatePerSecond,
    requests: live.requests,
    iterations: live.iterations,
    virtualUsers: tick.virtualUsers,
    dropped: tick.dropped,
    p50: live.p50,
    p99: live.p99,
    lastSecondP99: live.lastSecond?.p99,
    errors: live.errors,
    errorRate: live.requests > 0 ? live.errors / live.requests : 0,
    limited: live.limited,
    sessionsOpened: live.sessionsOpened,
    sessionsLost: live.sessionsLost,
    instances: Object.entries(live.instances)
      .sort((a, b) => (a[0] === NO_INSTANCE ? 1 : b[0] === NO_INSTANCE ? -1 : a[0].localeCompare(b[0])))
      .map(([id, count]) => ({ id, count, share: total > 0 ? count / total : 0 })),
  };
}

/** `[#########.........]` */
export function progressBar(fraction: number, width = 30): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** One line for logs and CI output. */
export function plainLine(model: BenchViewModel): string {
  const time =
    model.plannedS === undefined
      ? `${model.elapsedS.toFixed(1)}s`
      : `${model.elapsedS.toFixed(1)}s/${model.plannedS.toFixed(1)}s ${Math.round(model.progress * 100)}%`;
  const target =
    model.targetRatePerSecond === undefined ? '' : ` (target ${model.targetRatePerSecond.toFixed(1)}/s)`;
  const instances = model.instances.map((i) => `${i.id}=${i.count}`).join(' ');
  return (
    `[${time}] ${model.ratePerSecond} req/s${target}  p50 ${model.p50.toFixed(2)}ms p99 ${model.p99.toFixed(2)}ms` +
    `  errors ${model.errors} (${(model.errorRate * 100).toFixed(2)}%)  429s ${model.limited}` +
    `  sessions ${model.sessionsOpened} lost ${model.sessionsLost}  dropped ${model.dropped}` +
    (instances ? `  instances ${instances}` : '')
  );
}
