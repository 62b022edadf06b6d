import { randomUUID } from 'node:crypto';
import { ATTR, inSpan } from '../../telemetry/mcp-spans.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { replaySession } from './replay.js';
import { deleteUpstreamSession } from '../upstream.js';
import type { SessionDirectory } from './session-directory.js';
import type { SessionRecord } from './session-record.js';
import type { WorkerPool } from '../worker-pool.js';

const LOCK_TTL_MS = 5000;
const WAIT_FOR_OTHER_MS = 3000;

/**
 * Moves a 2025 session to a healthy worker when its own is gone: replays
 * the session there, then switches the mapping with compare-and-set so two
 * gateways racing for the same session move it once (a short Redis lock
 * keeps the loser from even replaying; the CAS covers an expired lock).
 */
export class Rehomer {
  private readonly owner = randomUUID();
  /** Re-homes in progress in this gateway: concurrent requests share one. */
  private readonly inProgress = new Map<string, Promise<SessionRecord>>();
  /**
   * Upstream sessions left on a worker that was unreachable when we moved
   * away from it: deleted once it answers health checks again, so a worker
   * that was only stalled does not keep dead transports in memory.
   */
  private readonly leftBehind = new Map<string, Map<string, Record<string, string>>>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly directory: SessionDirectory,
    private readonly metrics: GatewayMetrics,
    private readonly maxInflight: number,
    private readonly timeoutMs: number,
  ) {
    pool.on('recovered', (worker) => {
      const sessions = this.leftBehind.get(worker.id);
      if (!sessions) return;
      this.leftBehind.delete(worker.id);
      for (const [upstream, identity] of sessions) void this.deleteUpstream(worker.id, upstream, identity);
    });
  }

  rehome(
    record: SessionRecord,
    identity: Record<string, string>,
    reason: string,
    allowSameWorker: boolean,
  ): Promise<SessionRecord> {
    let running = this.inProgress.get(record.id);
    if (!running) {
      running = inSpan(
        'session re-home',
        {
          [ATTR.sessionId]: record.id,
          'mcp_scale.rehome.reason': reason,
          'mcp_scale.rehome.from': record.worker,
        },
        (span) =>
          this.run(record, identity, reason, allowSameWorker).then((moved) => {
            span.setAttribute('mcp_scale.rehome.to', moved.worker);
            return moved;
          }),
      ).finally(() => this.inProgress.delete(record.id));
      this.inProgress.set(record.id, running);
    }
    return running;
  }

  private async run(
    record: SessionRecord,
    identity: Record<string, string>,
    reason: string,
    allowSameWorker: boolean,
  ) {
    // Lock and re-read in one round trip: someone may have moved it since our read.
    const locked = await this.directory.lockAndReload(record.id, this.owner, LOCK_TTL_MS);
    if (!locked.locked) return this.waitForOther(record);
    try {
      const current = locked.record ?? record;
      if (current.version !== record.version) {
        const home = this.pool.get(current.worker);
        if (home?.healthy) return current;
      }
      const target = this.pickTarget(current.worker, allowSameWorker);
      if (!target) throw new Error('no healthy worker is available');
      this.metrics.replays.inc();
      const upstream = await replaySession(target, current, identity, this.timeoutMs);
      const result = await this.directory.move(current, target.id, upstream);
      if (!result.moved) {
        // Lost a race despite the lock: drop our replayed copy, use the winner's.
        void this.deleteUpstream(target.id, upstream, identity);
        if (!result.record) throw new Error('the session ended while it was being moved');
        return result.record;
      }
      this.metrics.countRehome(reason);
      const old = this.pool.get(current.worker);
      // A worker that answered 404 (restarted, evicted it) has nothing to delete.
      if (old && old.id !== target.id && reason !== 'upstream-404') {
        if (old.healthy) void this.deleteUpstream(old.id, current.upstream, identity);
        else this.rememberLeftBehind(old.id, current.upstream, identity);
      }
      return result.record!;
    } finally {
      // Not awaited: the client's request goes on at once. A gateway waiting
      // for this move watches the record's version, not the lock; this
      // gateway's own next command on the session queues behind the unlock.
      void this.directory.unlock(record.id, this.owner);
    }
  }

  private pickTarget(previous: string, allowSameWorker: boolean) {
    const other = this.pool.pick(this.maxInflight, previous);
    if (other) return other;
    const same = this.pool.get(previous);
    return allowSameWorker && same?.healthy ? same : this.pool.pick(Number.MAX_SAFE_INTEGER, previous);
  }

  /** Another gateway holds the lock: wait until it publishes the move. */
  private async waitForOther(record: SessionRecord): Promise<SessionRecord> {
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    let delay = 5;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
      const current = await this.directory.reload(record.id);
      if (!current) throw new Error('the session ended while it was being moved');
      if (current.version !== record.version) return current;
    }
    throw new Error('another gateway is still moving this session');
  }

  private rememberLeftBehind(workerId: string, upstream: string, identity: Record<string, string>): void {
    let sessions = this.leftBehind.get(workerId);
    if (!sessions) {
      sessions = new Map();
      this.leftBehind.set(workerId, sessions);
    }
    // Bounded: a worker that never comes back must not grow this forever
    // (its restart loses the sessions anyway; its idle sweeper is the backstop).
    if (sessions.size < 100_000) sessions.set(upstream, identity);
  }

  /** Best effort: the old home should not keep a transport nobody will use. */
  private async deleteUpstream(
    workerId: string,
    upstream: string,
    identity: Record<string, string>,
  ): Promise<void> {
    const worker = this.pool.get(workerId);
    if (worker)
      await deleteUpstreamSession(worker, { ...identity, 'mcp-session-id': upstream }, this.timeoutMs);
  }
}
