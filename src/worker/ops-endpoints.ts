import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { checkOpsAccess } from '../http/admin-access.js';
import type { HostPolicy } from '../http/host-validation.js';
import { writeJson } from '../http/json-response.js';
import type { ReplayStatus } from './event-store.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** What the operational endpoints report, read at request time. */
export interface WorkerOpsState {
  id: string;
  draining(): boolean;
  sessions(): number;
  /** The bounded session table: live, idle, bound, evictions and refusals since start. */
  sessionTable(): { live: number; idle: number; max: number; evicted: number; refused: number };
  /** Events kept for `Last-Event-ID` replay: held now, the bounds, forgotten and missed since start. */
  replay(): ReplayStatus;
  inflight(): number;
  server: { name: string; sdk: 'v1' | 'v2' };
  /** undefined: memory mode. */
  redisStatus(): string | undefined;
  /** Redis answered at least once since start (readiness survives later blips). */
  redisEverReady(): boolean;
  metrics: WorkerMetrics;
  hostPolicy: HostPolicy;
  adminToken?: string;
}

/**
 * A worker's /healthz, /readyz, /metrics and /_mcp-scale/status: behind the same Host/Origin
 * check as the MCP endpoint (a rebinding page must not read pids either),
 * and /metrics and the status behind the admin token when one is set (else loopback only).
 */
export function serveWorkerOps(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  state: WorkerOpsState,
): void {
  const admin = path === '/metrics' || path === '/_mcp-scale/status';
  const refused = checkOpsAccess(req, state.hostPolicy, { required: admin, token: state.adminToken });
  if (refused) return writeJson(res, refused.status, { error: refused.error });
  const draining = state.draining();
  if (path === '/healthz') {
    return writeJson(res, draining ? 503 : 200, {
      status: draining ? 'draining' : 'ok',
      id: state.id,
      pid: process.pid,
      sessions: state.sessions(),
      maxSessions: state.sessionTable().max,
      inflight: state.inflight(),
      server: state.server.name,
      sdk: state.server.sdk,
    });
  }
  if (path === '/readyz') {
    // As the gateway: ready once Redis answered at least once; a later Redis
    // blip degrades the worker (cache bypassed, bus reconnecting) but must
    // not empty the Service or the proxy's pool.
    const redis = state.redisStatus();
    const ready = !draining && (redis === undefined || state.redisEverReady());
    return writeJson(res, ready ? 200 : 503, {
      ready,
      draining,
      degraded: redis !== undefined && redis !== 'ready',
      redis: redis ?? 'memory',
    });
  }
  if (path === '/_mcp-scale/status') {
    // `?gc=1` collects garbage first when run with --expose-gc (memory per session figures).
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc && (req.url ?? '').includes('gc=1')) gc();
    return writeJson(res, 200, {
      id: state.id,
      pid: process.pid,
      draining,
      inflight: state.inflight(),
      sessions: state.sessionTable(),
      replay: state.replay(),
      // heapLimit: V8's heap limit (from --max-old-space-size, else Node's default for the
      // memory it sees), to set against the live heap at the session bound (docs/session-bounds.md).
      memory: { ...process.memoryUsage(), heapLimit: getHeapStatistics().heap_size_limit },
    });
  }
  if (admin) {
    // JSON (prom-client's own shape) for the gateway's dashboard; text for Prometheus.
    if (String(req.headers.accept).includes('application/json')) {
      void state.metrics.registry.getMetricsAsJSON().then((json) => writeJson(res, 200, json));
      return;
    }
    void state.metrics.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': state.metrics.registry.contentType });
      res.end(text);
    });
    return;
  }
  writeJson(res, 404, { error: `not found: ${path}` });
}
