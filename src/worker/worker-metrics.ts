import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ReplayBuffer } from './event-store.js';

/** Prometheus metrics of one worker host (a registry per host, so tests can run several in one process). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'era' | 'status'>;
  readonly sessions: Gauge;
  readonly inflight: Gauge;
  readonly cache: Counter<'tool' | 'outcome'>;
  readonly evictions: Counter;
  readonly refusals: Counter;
  readonly maxSessions: Gauge;

  constructor(
    workerId: string,
    sessionCount: () => number,
    inflightCount: () => number,
    replay: () => ReplayBuffer,
  ) {
    this.registry.setDefaultLabels({ worker: workerId });
    // process_start_time_seconds and friends: restarts and resource use, as for any Node service.
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'mcp_scale_worker_requests_total',
      help: 'HTTP requests served on the MCP endpoint, by wire era and HTTP status',
      labelNames: ['era', 'status'],
      registers: [this.registry],
    });
    this.sessions = new Gauge({
      name: 'mcp_scale_worker_sessions',
      help: 'Open 2025-era sessions on this worker',
      registers: [this.registry],
      collect() {
        this.set(sessionCount());
      },
    });
    this.evictions = new Counter({
      name: 'mcp_scale_worker_session_evictions_total',
      help: 'Idle 2025-era sessions closed to make room for new ones (--max-sessions-per-worker); the gateway replays them on their next request',
      registers: [this.registry],
    });
    this.refusals = new Counter({
      name: 'mcp_scale_worker_sessions_refused_total',
      help: 'New 2025-era sessions refused with 503 because the table was full and every session busy',
      registers: [this.registry],
    });
    this.maxSessions = new Gauge({
      name: 'mcp_scale_worker_sessions_max',
      help: 'Live-session bound of this worker (--max-sessions-per-worker; 0 = unbounded)',
      registers: [this.registry],
    });
    this.cache = new Counter({
      name: 'mcp_scale_worker_cache_total',
      help: 'Calls of cached tools by outcome: hit (answered from the cache), miss (the server answered), bypass (cache store unavailable, or a user-scoped tool called anonymously)',
      labelNames: ['tool', 'outcome'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'mcp_scale_worker_replay_bytes',
      help: 'Serialized SSE events kept for Last-Event-ID resumption (bounded by --replay-buffer)',
      registers: [this.registry],
      collect() {
        this.set(replay().bytes);
      },
    });
    new Counter({
      name: 'mcp_scale_worker_replay_misses_total',
      help: 'Stream resumptions (Last-Event-ID) that asked for an event this worker no longer holds (past --replay-window or --replay-buffer): the client missed events',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(replay().misses);
      },
    });
    this.inflight = new Gauge({
      name: 'mcp_scale_worker_inflight_requests',
      help: 'Requests being handled right now (GET streams excluded)',
      registers: [this.registry],
      collect() {
        this.set(inflightCount());
      },
    });
  }
}
