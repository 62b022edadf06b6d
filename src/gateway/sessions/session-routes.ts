import { identityClaim } from '../../cluster/identity.js';
import { HEADER } from '../../protocol/headers.js';
import { RPC } from '../../protocol/jsonrpc.js';
import { readJsonRpcMessages } from '../../protocol/sse.js';
import {
  answerTimedOut,
  ClientGoneError,
  headerValue,
  interruptedMessage,
  answerInterrupted,
  fail,
  firstId,
  sessionNotFound,
  unavailable,
  type Exchange,
} from '../exchange.js';
import type { Forwarder } from '../forwarder.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { isEventStream, pipeBody, responseHeaders, writeSseMessages, type RelayOutcome } from '../relay.js';
import type { Rehomer } from './rehome.js';
import type { SessionDirectory } from './session-directory.js';
import { mintSessionId, replayStateBytes, type SessionRecord } from './session-record.js';
import type { UserSessionIndex } from './user-sessions.js';
import { UserSessionCap } from './user-cap.js';
import type { UpstreamResponse } from '../upstream-call.js';
import { UpstreamError } from '../upstream.js';
import type { WorkerPool, WorkerState } from '../worker-pool.js';

/**
 * 2025-era sessions: opened on a worker and then owned by the gateway
 * (the client only ever sees the gateway's id), kept on their worker, and
 * moved to a healthy one when that worker is gone or forgot them.
 */
export interface SessionLimits {
  index: UserSessionIndex;
  /** `--max-sessions-per-user`; 0 = unlimited. */
  maxPerUser: number;
  ttlMs: number;
  /** `--max-session-state`: bytes of replay state a session may keep. */
  maxStateBytes: number;
}

export class SessionRoutes {
  private readonly userCap: UserSessionCap;

  constructor(
    private readonly pool: WorkerPool,
    private readonly directory: SessionDirectory,
    private readonly rehomer: Rehomer,
    private readonly forwarder: Forwarder,
    private readonly metrics: GatewayMetrics,
    private readonly limits: SessionLimits,
  ) {
    this.userCap = new UserSessionCap(pool, directory, limits, forwarder.options.upstreamTimeoutMs);
  }

  /** Sessions closed to keep a user under --max-sessions-per-user, since start. */
  get userCapEvictions(): number {
    return this.userCap.evictions;
  }

  /** A 2025 initialize: create the upstream session, then own the client-facing id. */
  async open(x: Exchange): Promise<void> {
    const initialize = x.classified!.messages.find((m) => m.method === 'initialize');
    const initParams = JSON.stringify(initialize?.params ?? {});
    const stateBytes = replayStateBytes({ initParams, subscriptions: [] });
    if (stateBytes > this.limits.maxStateBytes) {
      return tooMuchState(x, `its initialize params are ${stateBytes} bytes`, this.limits.maxStateBytes);
    }
    const tried = new Set<string>();
    let full = 0;
    for (;;) {
      const worker = this.forwarder.pickExcluding(tried);
      if (!worker && full > 0 && full === tried.size) {
        return unavailable(
          x,
          'Every worker holds its maximum of live sessions, all busy (--max-sessions-per-worker); try again shortly',
        );
      }
      if (!worker) return unavailable(x, this.forwarder.noWorkerMessage(tried.size > 0));
      tried.add(worker.id);
      let upstream: UpstreamResponse;
      try {
        upstream = await this.forwarder.send(x, worker, x.headers);
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        await this.forwarder.isDown(worker, error);
        continue; // initialize is always safe to send again
      }
      if (upstream.statusCode === 503 && upstream.headers[HEADER.sessionsFull] !== undefined) {
        // That worker's session table is full of busy sessions: another may have room.
        await upstream.body.dump().catch(() => {});
        full++;
        continue;
      }
      const upstreamId = headerValue(upstream.headers[HEADER.sessionId]);
      if (upstream.statusCode !== 200 || !upstreamId) {
        // A refusal, or a stateless server that issues no session: pass it through.
        await this.forwarder.relay(x, worker, upstream);
        return;
      }
      const capped = this.limits.maxPerUser > 0;
      const record: SessionRecord = {
        id: mintSessionId(),
        worker: worker.id,
        upstream: upstreamId,
        user: x.user,
        ...(capped ? { owner: x.owner } : {}),
        initParams,
        subscriptions: [],
        createdAt: Date.now(),
        version: 0,
      };
      if (capped && !(await this.userCap.admit(record))) {
        await upstream.body.dump().catch(() => {});
        void this.userCap.deleteUpstream(worker, record);
        return fail(
          x,
          429,
          firstId(x),
          RPC.rateLimited,
          `This user already holds ${this.limits.maxPerUser} sessions, all in use (--max-sessions-per-user); end one (DELETE) or try again later`,
        );
      }
      // Stored before the client learns the id, so its next request may go to any gateway.
      await this.directory.create(record);
      await this.forwarder.relay(x, worker, upstream, { from: upstreamId, to: record.id });
      return;
    }
  }

  /** A request on a 2025 session: to its worker, re-homing first when that worker is gone. */
  async forward(x: Exchange, sessionId: string): Promise<void> {
    this.userCap.enter(sessionId);
    try {
      await this.forwardBusy(x, sessionId);
    } finally {
      this.userCap.leave(sessionId);
    }
  }

  private async forwardBusy(x: Exchange, sessionId: string): Promise<void> {
    const lookup = await this.directory.get(sessionId);
    if ('unavailable' in lookup) return unavailable(x, 'Session store unavailable; try again shortly');
    if ('missing' in lookup || lookup.found.user !== x.user) return sessionNotFound(x);
    let record = lookup.found;
    if (x.req.method === 'DELETE') return this.delete(x, record);
    if (!(await this.recordStateCalls(x, record))) return;

    for (let attempt = 0; attempt < 4; attempt++) {
      let worker = this.pool.get(record.worker);
      // Answers to a draining worker's own requests (elicitation, sampling)
      // belong to calls still running there: they go to it, not to a new home.
      const answersOnly =
        worker?.draining === true && x.req.method === 'POST' && (x.classified?.requests.length ?? 1) === 0;
      if (!worker || (!worker.healthy && !answersOnly)) {
        const moved = await this.rehome(x, record, 'worker-down');
        if (!moved) return;
        record = moved;
        worker = this.pool.get(record.worker)!;
      }
      if (worker.inflight >= this.forwarder.options.maxInflight && x.req.method !== 'GET') {
        return unavailable(x, `Worker ${worker.id} is at its concurrency limit`);
      }
      let upstream: UpstreamResponse;
      try {
        upstream = await this.forwarder.send(x, worker, {
          ...x.headers,
          [HEADER.sessionId]: record.upstream,
        });
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        const down = await this.forwarder.isDown(worker, error);
        // Never reached the worker: always safe to send again (elsewhere when down).
        if (error.failure === 'unreachable') continue;
        if (error.failure === 'timeout')
          return answerTimedOut(x, worker.id, this.forwarder.options.upstreamTimeoutMs);
        const verdict = await this.forwarder.safeToRetry(x);
        if (verdict.safe) continue;
        this.metrics.retries.inc({ outcome: 'error' });
        answerInterrupted(x, worker.id, verdict.reason);
        if (down) void this.rehome(undefined, record, 'worker-died');
        return;
      }
      const lost = await sessionLost(upstream);
      if (lost.lost) {
        // The worker no longer knows the session (restarted, or it expired
        // there): replay it, then send again.
        const moved = await this.rehome(x, record, 'upstream-404', true);
        if (!moved) return;
        record = moved;
        continue;
      }
      if (lost.body !== undefined) {
        // A 400 we had to read to tell it apart: send it on as it was.
        x.res.writeHead(
          upstream.statusCode,
          responseHeaders(upstream.headers, { instance: worker.id, extraHeaders: x.extra }),
        );
        x.res.end(lost.body);
        return;
      }
      const outcome = await this.forwarder.relay(x, worker, upstream, {
        from: record.upstream,
        to: record.id,
      });
      if (outcome.kind === 'upstream-broken') await this.afterBrokenStream(x, worker, record, outcome);
      return;
    }
    unavailable(x, 'No worker could serve this session; try again shortly');
  }

  /**
   * The worker failed while its SSE response was streaming: a safe request
   * is sent again on the session's (new) home and its events continue on
   * the same stream; others get a JSON-RPC error event. A GET stream simply
   * ends (the client reconnects and lands on the new home).
   */
  private async afterBrokenStream(
    x: Exchange,
    worker: WorkerState,
    record: SessionRecord,
    outcome: Extract<RelayOutcome, { kind: 'upstream-broken' }>,
  ): Promise<void> {
    const down = await this.forwarder.isDown(worker, new UpstreamError('broken', worker.id, 'stream cut'));
    if (x.req.method === 'GET' || !outcome.sse || !x.classified || x.classified.requests.length === 0) {
      x.res.end();
      if (down) void this.rehome(undefined, record, 'worker-died');
      return;
    }
    const verdict = await this.forwarder.safeToRetry(x);
    const home = verdict.safe
      ? down
        ? await this.rehome(undefined, record, 'worker-died')
        : record
      : undefined;
    const target = home ? this.pool.get(home.worker) : undefined;
    if (home && target) {
      try {
        const again = await this.forwarder.send(x, target, {
          ...x.headers,
          [HEADER.sessionId]: home.upstream,
        });
        this.metrics.retries.inc({ outcome: 'retried' });
        if (!outcome.endsCleanly) x.res.write('\n\n');
        if (isEventStream(again.headers)) {
          await pipeBody(again.body, x.res, true, this.forwarder.options.sseHeartbeatMs);
        } else {
          const messages = await readJsonRpcMessages(
            String(again.headers['content-type'] ?? ''),
            again.body.toReadable(),
          );
          writeSseMessages(x.res, messages, false);
          x.res.end();
        }
        return;
      } catch (error) {
        if (error instanceof ClientGoneError) return;
        // fall through to the error event
      }
    }
    if (!home && down) void this.rehome(undefined, record, 'worker-died');
    this.metrics.retries.inc({ outcome: 'error' });
    const message = interruptedMessage(worker.id, verdict.reason);
    writeSseMessages(
      x.res,
      x.classified.requestIds.map((id) => ({
        jsonrpc: '2.0',
        id,
        error: { code: RPC.unavailable, message },
      })),
      !outcome.endsCleanly,
    );
    x.res.end();
  }

  private async delete(x: Exchange, record: SessionRecord): Promise<void> {
    const worker = this.pool.get(record.worker);
    await this.directory.remove(record.id);
    if (record.owner !== undefined)
      await this.limits.index.release(record.owner, record.id).catch(() => false);
    if (worker?.healthy) {
      try {
        const upstream = await this.forwarder.send(x, worker, {
          ...x.headers,
          [HEADER.sessionId]: record.upstream,
        });
        if (upstream.statusCode !== 404) {
          await this.forwarder.relay(x, worker, upstream, { from: record.upstream, to: record.id });
          return;
        }
        await upstream.body.dump().catch(() => {});
      } catch (error) {
        if (error instanceof ClientGoneError) return;
        // the worker is gone: its copy went with it
      }
    }
    x.res.writeHead(200, { ...x.extra, [HEADER.instance]: record.worker });
    x.res.end();
  }

  /**
   * Remembers logging/setLevel and resources/(un)subscribe so a re-home can
   * replay them. A call that would take the session's replay state past
   * --max-session-state is refused (413) before it reaches the worker, so
   * what the worker holds and what a replay rebuilds never differ; false then.
   */
  private async recordStateCalls(x: Exchange, record: SessionRecord): Promise<boolean> {
    let logLevel: string | undefined;
    let subscriptions: string[] | undefined;
    for (const message of x.classified?.requests ?? []) {
      const params = message.params as { level?: unknown; uri?: unknown } | undefined;
      if (message.method === 'logging/setLevel' && typeof params?.level === 'string') logLevel = params.level;
      if (message.method === 'resources/subscribe' && typeof params?.uri === 'string') {
        subscriptions = [...new Set([...(subscriptions ?? record.subscriptions), params.uri])];
      }
      if (message.method === 'resources/unsubscribe' && typeof params?.uri === 'string') {
        subscriptions = (subscriptions ?? record.subscriptions).filter((uri) => uri !== params.uri);
      }
    }
    if (logLevel !== undefined || subscriptions !== undefined) {
      const bytes = replayStateBytes({
        initParams: record.initParams,
        logLevel: logLevel ?? record.logLevel,
        subscriptions: subscriptions ?? record.subscriptions,
      });
      if (bytes > this.limits.maxStateBytes) {
        tooMuchState(x, `with this call its replay state would be ${bytes} bytes`, this.limits.maxStateBytes);
        return false;
      }
      await this.directory.patch(record, {
        ...(logLevel !== undefined ? { logLevel } : {}),
        ...(subscriptions !== undefined ? { subscriptions } : {}),
      });
    }
    return true;
  }

  /**
   * Moves the session to a healthy worker. With an exchange, a failure is
   * answered to the client (503) and undefined is returned.
   */
  private async rehome(
    x: Exchange | undefined,
    record: SessionRecord,
    reason: string,
    allowSameWorker = false,
  ): Promise<SessionRecord | undefined> {
    try {
      const identity = { [HEADER.identity]: identityClaim({ user: record.user }) };
      return await this.rehomer.rehome(record, identity, reason, allowSameWorker);
    } catch (error) {
      if (x) unavailable(x, `Session could not be moved to a healthy worker: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/** 413 + a JSON-RPC error: the session may not keep that much state for replay; nothing was stored. */
function tooMuchState(x: Exchange, what: string, max: number): void {
  fail(
    x,
    413,
    firstId(x),
    RPC.invalidParams,
    `Session state too large: ${what}; a session may keep at most ${max} bytes for replay (--max-session-state). Nothing was stored.`,
  );
}

/**
 * Whether a worker's answer means "I do not know this session": 404 as the
 * spec says, or the 400 some servers (older SDKs, server-everything) send
 * for an unknown id ("Bad Request: No valid session ID provided"). Other
 * 400s are read (they are small) and handed back for relaying.
 */
async function sessionLost(upstream: UpstreamResponse): Promise<{ lost: boolean; body?: Buffer }> {
  if (upstream.statusCode === 404) {
    await upstream.body.dump().catch(() => {});
    return { lost: true };
  }
  if (upstream.statusCode !== 400) return { lost: false };
  const body = await upstream.body.readAll();
  const text = body.subarray(0, 4096).toString('utf8');
  return { lost: /session/i.test(text) && /(no valid|not found|unknown|invalid|expired)/i.test(text), body };
}
