import type { IdentitySigner } from '../cluster/identity.js';
import { EventEmitter } from 'node:events';
import { Pool } from 'undici';
import { readRegistry } from '../cluster/worker-registry.js';
import type { RedisClient } from '../redis/connection.js';
import type { KeySchema } from '../redis/keys.js';

export interface WorkerTarget {
  id: string;
  /** The worker's MCP endpoint, e.g. http://127.0.0.1:3001/mcp */
  url: string;
}

export interface WorkerState extends WorkerTarget {
  origin: string;
  path: string;
  healthy: boolean;
  /** The worker said it is draining (registry or /healthz): no new work, sessions move on their next request. */
  draining: boolean;
  /** Requests this gateway has outstanding on the worker (GET streams excluded). */
  inflight: number;
  openStreams: number;
  /** From the worker's /healthz when it answers with JSON (our worker host). */
  pid?: number;
  sessions?: number;
  /** Restarts seen by this gateway: the pid on /healthz changed. */
  restarts: number;
  consecutiveFailures: number;
  lastCheck?: number;
  /** Request/response traffic: bounded, keep-alive. */
  requests: Pool;
  /** Long-lived GET streams get their own pool so they never starve request traffic. */
  streams: Pool;
  /** Signs the identity of each request sent to this worker (see cluster/identity.ts). */
  signer?: IdentitySigner;
}

export interface WorkerPoolOptions {
  /** Fixed workers (`--worker URL` / `id=URL`); empty = discover through the Redis registry. */
  static: WorkerTarget[];
  /** Registry discovery; entries must be signed with this cluster secret. */
  registry?: { redis: RedisClient; keys: KeySchema; secret: string };
  healthIntervalMs: number;
  /** Consecutive failed checks before a worker counts as down. */
  unhealthyAfter: number;
  connectionsPerWorker: number;
  /** Signs identities bound to each upstream request. */
  signer?: IdentitySigner;
  onChange?: (workers: WorkerState[]) => void;
}

/**
 * The workers a gateway fronts: health, load (outstanding requests), and
 * one pair of undici pools each. Picks the least-loaded healthy worker for
 * anything not pinned to a session.
 */
export class WorkerPool extends EventEmitter<{
  recovered: [WorkerState];
  restarted: [WorkerState];
  down: [WorkerState];
}> {
  private readonly workers = new Map<string, WorkerState>();
  private timer?: NodeJS.Timeout;
  private checking = false;
  private cursor = 0;
  /** Registry keys already reported as unverifiable (warned once each). */
  private readonly rejected = new Set<string>();

  constructor(private readonly options: WorkerPoolOptions) {
    super();
    for (const target of options.static) this.add(target);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  list(): WorkerState[] {
    return [...this.workers.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  }

  get(id: string): WorkerState | undefined {
    return this.workers.get(id);
  }

  healthyCount(): number {
    let n = 0;
    for (const worker of this.workers.values()) if (worker.healthy) n++;
    return n;
  }

  /** Least outstanding requests among healthy workers below the cap; ties go round-robin. */
  pick(maxInflight: number, exclude?: string): WorkerState | undefined {
    const workers = [...this.workers.values()];
    const count = workers.length;
    if (count === 0) return undefined;
    const start = this.cursor++ % count;
    let best: WorkerState | undefined;
    for (let i = 0; i < count; i++) {
      const worker = workers[(start + i) % count] as WorkerState;
      if (!worker.healthy || worker.id === exclude || worker.inflight >= maxInflight) continue;
      if (!best || worker.inflight < best.inflight) best = worker;
    }
    return best;
  }

  /** Asks the worker directly whether it is alive (after a failed request). */
  async probe(worker: WorkerState, timeoutMs = 1000): Promise<boolean> {
    return (await this.healthz(worker, timeoutMs)).ok;
  }

  /**
   * GET /healthz on the unbounded pool, so a worker saturated with requests
   * is still asked at once. Our worker host answers JSON (503 while
   * draining); any other server that answers HTTP at all is alive.
   */
  private async healthz(
    worker: WorkerState,
    timeoutMs: number,
  ): Promise<{ ok: boolean; body?: string; draining?: boolean }> {
    try {
      const response = await worker.streams.request({
        path: '/healthz',
        method: 'GET',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await response.body.text();
      const ok = response.statusCode !== 503 && response.statusCode < 500;
      const draining = response.statusCode === 503 && body.includes('"draining"');
      return { ok, body: response.statusCode === 200 ? body : undefined, draining };
    } catch {
      return { ok: false };
    }
  }

  /** The worker is draining: out of rotation at once, without waiting for failed checks. */
  markDraining(id: string): void {
    const worker = this.workers.get(id);
    if (!worker || worker.draining) return;
    worker.draining = true;
    worker.healthy = false;
    worker.consecutiveFailures = this.options.unhealthyAfter;
    this.options.onChange?.(this.list());
  }

  /** A request failed to connect: stop sending new work there until a check says otherwise. */
  markDown(id: string): void {
    const worker = this.workers.get(id);
    if (!worker || !worker.healthy) return;
    worker.healthy = false;
    worker.consecutiveFailures = this.options.unhealthyAfter;
    this.emit('down', worker);
    this.options.onChange?.(this.list());
  }

  private add(target: WorkerTarget): WorkerState {
    const url = new URL(target.url);
    const poolOptions = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, pipelining: 1 };
    const worker: WorkerState = {
      ...target,
      origin: url.origin,
      path: url.pathname + url.search,
      healthy: true,
      draining: false,
      inflight: 0,
      openStreams: 0,
      restarts: 0,
      consecutiveFailures: 0,
      requests: new Pool(url.origin, { ...poolOptions, connections: this.options.connectionsPerWorker }),
      streams: new Pool(url.origin, { ...poolOptions, connections: null }),
      signer: this.options.signer,
    };
    this.workers.set(target.id, worker);
    return worker;
  }

  private remove(id: string): void {
    const worker = this.workers.get(id);
    if (!worker) return;
    this.workers.delete(id);
    void worker.requests.close().catch(() => {});
    void worker.streams.destroy().catch(() => {});
  }

  /** Registry discovery (when used) plus one health check of every worker. */
  async refresh(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      if (this.options.registry) await this.discover();
      await Promise.all(this.list().map((worker) => this.check(worker)));
      this.options.onChange?.(this.list());
    } finally {
      this.checking = false;
    }
  }

  private async discover(): Promise<void> {
    const { redis, keys, secret } = this.options.registry!;
    let announced;
    try {
      const read = await readRegistry(redis, keys, secret);
      announced = read.workers;
      for (const key of read.rejected) {
        if (this.rejected.has(key)) continue;
        this.rejected.add(key);
        console.warn(
          `[gateway] ignoring registry entry ${key}: not signed with this cluster's secret (a worker with another MCP_SCALE_CLUSTER_SECRET, or a forged entry)`,
        );
      }
    } catch {
      return; // Redis away: keep the workers we know
    }
    const seen = new Set<string>();
    for (const entry of announced) {
      seen.add(entry.id);
      const known = this.workers.get(entry.id);
      if (known && known.url !== entry.url) this.remove(entry.id);
      if (!this.workers.has(entry.id)) this.add({ id: entry.id, url: entry.url });
      if (entry.draining) this.markDraining(entry.id);
    }
    for (const id of [...this.workers.keys()]) {
      if (!seen.has(id) && !this.options.static.some((t) => t.id === id)) this.remove(id);
    }
  }

  private async check(worker: WorkerState): Promise<void> {
    const { ok, body, draining } = await this.healthz(worker, 2000);
    if (draining) return this.markDraining(worker.id);
    if (body !== undefined) {
      try {
        const info = JSON.parse(body) as { pid?: number; sessions?: number };
        const restarted = worker.pid !== undefined && info.pid !== undefined && info.pid !== worker.pid;
        worker.pid = info.pid;
        if (restarted) {
          worker.restarts++;
          this.emit('restarted', worker);
        }
        worker.sessions = info.sessions;
      } catch {
        // not our worker host
      }
    }
    worker.lastCheck = Date.now();
    if (ok) {
      worker.consecutiveFailures = 0;
      const recovered = !worker.healthy;
      worker.healthy = true;
      // A worker restarted under the same id and URL (serve, compose) serves again.
      worker.draining = false;
      if (recovered) this.emit('recovered', worker);
    } else if (++worker.consecutiveFailures >= this.options.unhealthyAfter && worker.healthy) {
      worker.healthy = false;
      this.emit('down', worker);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(
      this.list().map(async (worker) => {
        await worker.streams.destroy().catch(() => {});
        await worker.requests.close().catch(() => {});
      }),
    );
    this.workers.clear();
  }
}

export function parseWorkerTarget(spec: string, index: number): WorkerTarget {
  const eq = spec.indexOf('=');
  const [id, url] =
    eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [undefined, spec];
  const parsed = new URL(url.includes('://') ? url : `http://${url}`);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/mcp';
  return { id: id ?? `worker-${index + 1}`, url: parsed.toString() };
}
