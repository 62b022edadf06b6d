import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one gateway (its own registry, so tests can run several in one process). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'era' | 'method' | 'status'>;
  readonly duration: Histogram<'era' | 'method'>;
  readonly rehomes: Counter<'reason'>;
  readonly replays: Counter;
  readonly retries: Counter<'outcome'>;
  readonly workersUp: Gauge;
  readonly sessions: Gauge;

  constructor(sessionCount: () => number, workersUp: () => number) {
    this.requests = new Counter({
      name: 'mcp_scale_gateway_requests_total',
      help: 'Requests on the MCP endpoint by wire era, JSON-RPC method and HTTP status',
      labelNames: ['era', 'method', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'mcp_scale_gateway_request_duration_seconds',
      help: 'Time to the response headers, by era and method (streams excluded)',
      labelNames: ['era', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.rehomes = new Counter({
      name: 'mcp_scale_gateway_session_rehomes_total',
      help: 'Sessions moved to another worker, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.replays = new Counter({
      name: 'mcp_scale_gateway_session_replays_total',
      help: 'Sessions replayed (initialize + state) on a new worker, including replays that lost a race',
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: 'mcp_scale_gateway_retries_total',
      help: 'Requests interrupted by a worker failure: retried elsewhere or answered with an error',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.workersUp = new Gauge({
      name: 'mcp_scale_gateway_workers_up',
      help: 'Healthy workers',
      registers: [this.registry],
      collect() {
        this.set(workersUp());
      },
    });
    this.sessions = new Gauge({
      name: 'mcp_scale_gateway_sessions',
      help: '2025-era sessions known to this gateway (in memory)',
      registers: [this.registry],
      collect() {
        this.set(sessionCount());
      },
    });
  }
}
