import { identityClaim } from '../../cluster/identity.js';
import { HEADER } from '../../protocol/headers.js';
import { deleteUpstreamSession } from '../upstream.js';
import type { WorkerPool, WorkerState } from '../worker-pool.js';
import type { SessionDirectory } from './session-directory.js';
import type { SessionRecord } from './session-record.js';
import type { SessionLimits } from './session-routes.js';

/**
 * `--max-sessions-per-user` at the gateway: a new session is counted in its
 * owner's index (user-sessions.ts); over the cap, the owner's least recently
 * used sessions that are not busy on this gateway are closed (their next
 * request gets 404, as for an expired session), and when all are busy the
 * new one is refused.
 */
export class UserSessionCap {
  /** Sessions with a request or stream open on this gateway: never closed to honour a cap. */
  private readonly busy = new Map<string, number>();
  /** Sessions closed to keep a user under the cap, since start. */
  evictions = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly directory: SessionDirectory,
    private readonly limits: SessionLimits,
    private readonly upstreamTimeoutMs: number,
  ) {}

  /** A request or stream on the session starts here. */
  enter(id: string): void {
    this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
  }

  leave(id: string): void {
    const left = (this.busy.get(id) ?? 1) - 1;
    if (left > 0) this.busy.set(id, left);
    else this.busy.delete(id);
  }

  /** Counts a new session against its owner's cap; false when it must be refused (all others busy). */
  async admit(record: SessionRecord): Promise<boolean> {
    const owner = record.owner!;
    const { index, maxPerUser, ttlMs } = this.limits;
    let claim;
    try {
      claim = await index.claim(owner, record.id, maxPerUser, ttlMs);
    } catch {
      return true; // the index is unavailable: sessions still work (as with Redis away)
    }
    let over = claim.count - maxPerUser;
    for (const candidate of claim.oldest) {
      if (over <= 0) break;
      if (candidate === record.id || this.busy.has(candidate)) continue;
      // Whoever removes it from the index closes it (two gateways may pick the same one).
      if (!(await index.release(owner, candidate).catch(() => false))) continue;
      over--;
      this.evictions++;
      void this.close(candidate);
    }
    if (over <= 0) return true;
    await index.release(owner, record.id).catch(() => false);
    return false;
  }

  /** Ends the session's copy on its worker (best effort). */
  async deleteUpstream(worker: WorkerState, record: SessionRecord): Promise<void> {
    const identity = { [HEADER.identity]: identityClaim({ user: record.user }) };
    await deleteUpstreamSession(
      worker,
      { ...identity, [HEADER.sessionId]: record.upstream },
      this.upstreamTimeoutMs,
    ).catch(() => {});
  }

  private async close(id: string): Promise<void> {
    const lookup = await this.directory.get(id).catch(() => undefined);
    await this.directory.remove(id).catch(() => {});
    if (lookup && 'found' in lookup) {
      const worker = this.pool.get(lookup.found.worker);
      if (worker?.healthy) await this.deleteUpstream(worker, lookup.found);
    }
  }
}
