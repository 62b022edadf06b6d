import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CLIENT_REQUEST_METHODS } from '../protocol/mcp-methods.js';

/** What the gateway's gauges read when scraped. */
export interface GatewayMetricSources {
  sessionCount(): number;
  workers(): { id: string; healthy: boolean }[];
  /** Rate-limit policies in force: their 429 counters exist (at 0) before the first refusal. */
  policies(): string[];
  redis(): { mode: 'redis' | 'memory'; ready: boolean };
  degraded(): boolean;
}

/**
 * Operation names in the operation-duration metric: the spec's client
 * requests and the classification's own labels; anything else is `other`
 * (bounded labels, see protocol/mcp-methods.ts).
 */
const KNOWN_METHODS = new Set([...CLIENT_REQUEST_METHODS, 'notification', 'response', 'batch']);
const ERAS = ['legacy', 'modern'];
const REHOME_REASONS = ['worker-down', 'worker-died', 'upstream-404'];

/**
 * Prometheus metrics of one gateway (its own registry, so tests can run
 * several in one process). Every label set an alert or dashboard panel uses
 * is created at 0 (workers, policies, eras, re-home reasons, retry outcomes),
 * so `rate()` and ratios work before the first event.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'era' | 'method' | 'status'>;
  readonly duration: Histogram<'era' | 'method'>;
  /** The OTel MCP metric mcp.server.operation.duration, in Prometheus naming. */
  readonly operationDuration: Histogram<'mcp_method_name' | 'era' | 'error_type'>;
  readonly rehomes: Counter<'reason'>;
  readonly replays: Counter;
  readonly retries: Counter<'outcome'>;
  readonly rateLimited: Counter<'policy'>;
  readonly workerRestarts: Counter<'worker'>;
  readonly workersUp: Gauge;
  readonly workerUp: Gauge<'worker'>;
  readonly sessions: Gauge;
  readonly redisUp: Gauge<'mode'>;
  readonly degraded: Gauge;
  /** Plain tallies of what the dashboard and /_mcp-scale/status show (prom-client's values are async). */
  private readonly limitedByPolicy = new Map<string, number>();
  private rehomeTotal = 0;

  constructor(sources: GatewayMetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'mcp_scale_gateway_requests_total',
      help: 'Requests on the MCP endpoint by wire era, JSON-RPC method and HTTP status',
      labelNames: ['era', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'mcp_scale_gateway_request_duration_seconds',
      help: 'Time to the response headers, by era and method (streams excluded)',
      labelNames: ['era', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.operationDuration = new Histogram({
      name: 'mcp_server_operation_duration_seconds',
      help: 'MCP request duration as the gateway serves it, until the response is complete (OTel mcp.server.operation.duration; GET streams excluded)',
      labelNames: ['mcp_method_name', 'era', 'error_type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.rehomes = new Counter({
      name: 'mcp_scale_gateway_session_rehomes_total',
      help: 'Sessions moved to another worker, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.replays = new Counter({
      name: 'mcp_scale_gateway_session_replays_total',
      help: 'Sessions replayed (initialize + state) on a new worker, including replays that lost a race',
      registers,
    });
    this.retries = new Counter({
      name: 'mcp_scale_gateway_retries_total',
      help: 'Requests interrupted by a worker failure: retried elsewhere or answered with an error',
      labelNames: ['outcome'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'mcp_scale_gateway_rate_limited_total',
      help: 'Requests refused with 429, by the rate-limit policy that refused them',
      labelNames: ['policy'],
      registers,
      collect() {
        for (const policy of sources.policies()) this.inc({ policy }, 0);
      },
    });
    this.workerRestarts = new Counter({
      name: 'mcp_scale_gateway_worker_restarts_total',
      help: 'Worker restarts this gateway noticed (the pid on /healthz changed)',
      labelNames: ['worker'],
      registers,
    });
    const restarts = this.workerRestarts;
    this.workerUp = new Gauge({
      name: 'mcp_scale_gateway_worker_up',
      help: '1 when the worker passes health checks, 0 when the gateway has taken it out',
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const worker of sources.workers()) {
          this.set({ worker: worker.id }, worker.healthy ? 1 : 0);
          restarts.inc({ worker: worker.id }, 0);
        }
      },
    });
    this.workersUp = new Gauge({
      name: 'mcp_scale_gateway_workers_up',
      help: 'Healthy workers',
      registers,
      collect() {
        this.set(sources.workers().filter((w) => w.healthy).length);
      },
    });
    this.sessions = new Gauge({
      name: 'mcp_scale_gateway_sessions',
      help: '2025-era sessions known to this gateway (in memory)',
      registers,
      collect() {
        this.set(sources.sessionCount());
      },
    });
    this.redisUp = new Gauge({
      name: 'mcp_scale_gateway_redis_up',
      help: '1 while the Redis connection is ready (mode="memory": no Redis, always 1)',
      labelNames: ['mode'],
      registers,
      collect() {
        const redis = sources.redis();
        this.reset();
        this.set({ mode: redis.mode }, redis.ready ? 1 : 0);
      },
    });
    this.degraded = new Gauge({
      name: 'mcp_scale_gateway_degraded',
      help: '1 while the gateway is degraded (Redis unreachable, no healthy worker, or limits degraded), as /readyz says',
      registers,
      collect() {
        this.set(sources.degraded() ? 1 : 0);
      },
    });
    for (const era of ERAS) {
      this.requests.inc({ era, method: 'tools/call', status: '200' }, 0);
      this.operationDuration.zero({ mcp_method_name: 'tools/call', era, error_type: '' });
    }
    for (const reason of REHOME_REASONS) this.rehomes.inc({ reason }, 0);
    for (const outcome of ['retried', 'error']) this.retries.inc({ outcome }, 0);
  }

  /** A 429: counted by the policy that refused it. */
  countRateLimited(policy: string): void {
    this.rateLimited.inc({ policy });
    this.limitedByPolicy.set(policy, (this.limitedByPolicy.get(policy) ?? 0) + 1);
  }

  countRehome(reason: string): void {
    this.rehomes.inc({ reason });
    this.rehomeTotal++;
  }

  /** 429s by policy: every policy given (at 0 until it refuses) plus any other that refused. */
  rateLimitedCounts(policies: string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const policy of policies) counts[policy] = 0;
    for (const [policy, n] of this.limitedByPolicy) counts[policy] = n;
    return counts;
  }

  rehomeCount(): number {
    return this.rehomeTotal;
  }

  /** Records one finished request in the OTel-named histogram. */
  observeOperation(method: string, era: string, status: number, seconds: number): void {
    this.operationDuration.observe(
      {
        mcp_method_name: KNOWN_METHODS.has(method) ? method : 'other',
        era,
        error_type: status >= 400 ? String(status) : '',
      },
      seconds,
    );
  }
}
