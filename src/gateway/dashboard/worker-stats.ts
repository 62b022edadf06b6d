import type { WorkerState } from '../worker-pool.js';

/** prom-client's `getMetricsAsJSON()` shape, as a worker's /metrics serves it to `Accept: application/json`. */
interface MetricJson {
  name: string;
  values: { labels: Record<string, string | number>; value: number }[];
}

export interface WorkerFigures {
  requests: number;
  requestsPerSec?: number;
  /** Sessions the worker evicted to stay under its cap (absent when the worker does not evict). */
  evictions?: number;
  /** Tool → cache outcomes. */
  cache: Record<string, { hit: number; miss: number; bypass: number }>;
}

interface Sample {
  at: number;
  requests: number;
}

/**
 * Figures only a worker knows (its request count, cache outcomes by tool,
 * evictions), read from its /metrics as JSON when the dashboard asks, at
 * most once per `minIntervalMs`; requests per second come from the previous read.
 */
export class WorkerStats {
  private readonly previous = new Map<string, Sample>();
  private readonly latest = new Map<string, WorkerFigures>();
  private lastRead = 0;
  private reading?: Promise<void>;

  constructor(
    private readonly adminToken: string | undefined,
    private readonly minIntervalMs = 900,
  ) {}

  async read(workers: WorkerState[]): Promise<Map<string, WorkerFigures>> {
    if (Date.now() - this.lastRead >= this.minIntervalMs) {
      this.reading ??= this.readAll(workers).finally(() => {
        this.lastRead = Date.now();
        this.reading = undefined;
      });
      await this.reading;
    }
    return this.latest;
  }

  private async readAll(workers: WorkerState[]): Promise<void> {
    await Promise.all(
      workers.map(async (worker) => {
        if (!worker.healthy) {
          this.previous.delete(worker.id);
          this.latest.delete(worker.id);
          return;
        }
        const metrics = await this.fetchMetrics(worker);
        if (!metrics) return;
        this.latest.set(worker.id, this.figures(worker.id, metrics));
      }),
    );
  }

  private async fetchMetrics(worker: WorkerState): Promise<MetricJson[] | undefined> {
    try {
      const response = await fetch(`${worker.origin}/metrics`, {
        headers: {
          accept: 'application/json',
          ...(this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}),
        },
        signal: AbortSignal.timeout(1000),
      });
      if (!response.ok || !String(response.headers.get('content-type')).includes('json')) {
        await response.body?.cancel();
        return undefined;
      }
      return (await response.json()) as MetricJson[];
    } catch {
      return undefined;
    }
  }

  private figures(id: string, metrics: MetricJson[]): WorkerFigures {
    const byName = new Map(metrics.map((metric) => [metric.name, metric]));
    const sum = (name: string) => byName.get(name)?.values.reduce((total, v) => total + v.value, 0);
    const requests = sum('mcp_scale_worker_requests_total') ?? 0;
    const now = Date.now();
    const before = this.previous.get(id);
    this.previous.set(id, { at: now, requests });
    const cache: WorkerFigures['cache'] = {};
    for (const { labels, value } of byName.get('mcp_scale_worker_cache_total')?.values ?? []) {
      const tool = String(labels.tool);
      const outcome = String(labels.outcome) as 'hit' | 'miss' | 'bypass';
      cache[tool] ??= { hit: 0, miss: 0, bypass: 0 };
      if (outcome in cache[tool]) cache[tool][outcome] += value;
    }
    return {
      requests,
      requestsPerSec:
        before && now > before.at && requests >= before.requests
          ? Math.round(((requests - before.requests) / ((now - before.at) / 1000)) * 100) / 100
          : undefined,
      evictions: sum('mcp_scale_worker_session_evictions_total'),
      cache,
    };
  }
}
