import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { GatewayHintCache } from '../cache/hint-cache.js';
import {
  BodyAbortedError,
  BodyTooLargeError,
  isJsonContentType,
  lingerAfterRefusal,
  readBody,
} from '../http/body.js';
import { HEADER } from '../protocol/headers.js';
import { RPC } from '../protocol/jsonrpc.js';
import type { AdmissionRequest, Authenticator, Limiter } from './admission.js';
import { checkModernHeaders, classifyPost, isRejection } from '../protocol/classify.js';
import {
  answerInterrupted,
  answerTimedOut,
  ClientGoneError,
  fail,
  firstId,
  headerValue,
  refuse,
  unavailable,
  type Exchange,
} from './exchange.js';
import { ExchangeTrace } from './exchange-trace.js';
import { Forwarder } from './forwarder.js';
import type { TrafficHistory } from './dashboard/traffic-history.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { Rehomer } from './sessions/rehome.js';
import type { SessionDirectory } from './sessions/session-directory.js';
import type { UserSessionIndex } from './sessions/user-sessions.js';
import { SessionRoutes } from './sessions/session-routes.js';
import type { ToolCatalog } from './tool-catalog.js';
import { clientAddressOf, type ProxyTrust } from '../http/client-address.js';
import { upstreamHeaders } from './upstream-headers.js';
import { UpstreamError } from './upstream.js';
import { ATTR, inSpan } from '../telemetry/mcp-spans.js';
import type { WorkerPool } from './worker-pool.js';

export interface RouterOptions {
  maxBodyBytes: number;
  maxInflight: number;
  upstreamTimeoutMs: number;
  sseHeartbeatMs?: number;
  /** Who may state the client's address (X-Forwarded-For); undefined: the socket's peer. */
  proxyTrust?: ProxyTrust;
  sessionTtlMs: number;
  /** 0 = unlimited. */
  maxSessionsPerUser: number;
  maxSessionStateBytes: number;
  /** 0 = unlimited. */
  maxListenStreamsPerUser: number;
}

export interface RouterDeps {
  options: RouterOptions;
  pool: WorkerPool;
  directory: SessionDirectory;
  userSessions: UserSessionIndex;
  catalog: ToolCatalog;
  metrics: GatewayMetrics;
  history: TrafficHistory;
  authenticator: Authenticator;
  limiter: Limiter;
  /** Extra response headers for every MCP response (CORS). */
  corsHeaders(req: IncomingMessage): Record<string, string>;
}

/**
 * The MCP endpoint: classify, authenticate, rate-limit, route, proxy.
 * 2026-era and session-less 2025 requests go to the least-loaded healthy
 * worker (here); 2025 sessions go to the worker that holds them
 * (SessionRoutes), and move to a healthy one when it is gone.
 */
export class McpRouter {
  private readonly forwarder: Forwarder;
  private readonly sessions: SessionRoutes;
  /** 2026-era results the server marked cacheable (ttlMs/cacheScope), see cache/hint-cache.ts. */
  private readonly hintCache = new GatewayHintCache();
  /** Open 2026 subscriptions/listen streams per owner on this gateway. */
  private readonly listening = new Map<string, number>();

  constructor(private readonly deps: RouterDeps) {
    const { pool, directory, catalog, metrics, options } = deps;
    this.forwarder = new Forwarder(pool, catalog, metrics, options);
    const rehomer = new Rehomer(pool, directory, metrics, options.maxInflight, options.upstreamTimeoutMs);
    this.sessions = new SessionRoutes(pool, directory, rehomer, this.forwarder, metrics, {
      index: deps.userSessions,
      maxPerUser: options.maxSessionsPerUser,
      ttlMs: options.sessionTtlMs,
      maxStateBytes: options.maxSessionStateBytes,
    });
  }

  /** Sessions closed to keep a user under --max-sessions-per-user, since start. */
  get userCapEvictions(): number {
    return this.sessions.userCapEvictions;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const x: Exchange = {
      req,
      res,
      started: performance.now(),
      era: 'legacy',
      label: req.method ?? 'GET',
      headers: {},
      extra: this.deps.corsHeaders(req),
      trace: ExchangeTrace.start(req),
    };
    try {
      await this.route(x);
    } catch (error) {
      if (error instanceof ClientGoneError) {
        res.destroy();
      } else {
        console.error('[gateway] request failed:', error);
        fail(x, 500, null, RPC.internalError, 'Internal error in the gateway');
      }
    } finally {
      const status = res.statusCode;
      this.deps.metrics.requests.inc({ era: x.era, method: x.label, status: String(status) });
      if (req.method === 'GET') {
        this.deps.history.record(x.era, status, undefined);
      } else {
        const ms = performance.now() - x.started;
        this.deps.history.record(x.era, status, ms);
        this.deps.metrics.observeOperation(x.label, x.era, status, ms / 1000);
      }
      x.trace?.end(x.era, res.statusCode, x.classified);
    }
  }

  private async route(x: Exchange): Promise<void> {
    const method = x.req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      return fail(x, 405, null, RPC.serverError, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
    }
    const authStart = x.trace ? ExchangeTrace.now() : 0;
    const auth = await this.deps.authenticator.authenticate(x.req);
    x.trace?.authDone(authStart, auth.ok);
    if (!auth.ok) {
      if (auth.status === 429) this.deps.metrics.countRateLimited(auth.policy ?? 'ip');
      return refuse(x, auth);
    }
    x.user = auth.user;
    x.owner = auth.user ?? `ip:${clientAddressOf(x.req, this.deps.options.proxyTrust)}`;
    // The client's credential stops here once the gateway has verified it
    // (the MCP authorization spec forbids passing a token through); the
    // worker gets the verified identity instead.
    x.headers = upstreamHeaders(x.req, auth.identity ?? { user: auth.user }, {
      proxyTrust: this.deps.options.proxyTrust,
      stripCredentials: auth.verified === true,
    });

    if (method === 'POST') {
      if (!(await this.readPost(x))) return;
      if (x.classified!.era === 'modern') {
        const mismatch = checkModernHeaders(x.req.headers, x.classified!);
        if (mismatch) return fail(x, mismatch.status, mismatch.id, mismatch.code, mismatch.message);
      }
    } else {
      x.label = method === 'GET' ? 'GET stream' : 'DELETE session';
    }
    if (!x.trace) return this.admitAndRoute(x);
    return context.with(x.trace.begin(x.era, x.classified), () => this.admitAndRoute(x));
  }

  private async admitAndRoute(x: Exchange): Promise<void> {
    const admission = x.trace
      ? await inSpan('rate limit', {}, async (span) => {
          const result = await this.deps.limiter.admit(this.admissionRequest(x));
          span.setAttribute('mcp_scale.limit.decision', result.ok ? 'allow' : 'deny');
          if (!result.ok && result.policy) span.setAttribute('mcp_scale.limit.policy', result.policy);
          return result;
        })
      : await this.deps.limiter.admit(this.admissionRequest(x));
    if (!admission.ok) {
      if (admission.status === 429) this.deps.metrics.countRateLimited(admission.policy ?? 'unknown');
      return refuse(x, admission);
    }
    Object.assign(x.extra, admission.headers);
    if (!x.trace) return this.dispatch(x);
    return inSpan('route', { [ATTR.era]: x.era }, () => this.dispatch(x));
  }

  private dispatch(x: Exchange): Promise<void> {
    const sessionId = headerValue(x.req.headers[HEADER.sessionId]);
    if (x.era === 'legacy' && sessionId) return this.sessions.forward(x, sessionId);
    if (x.era === 'legacy' && x.classified?.isInitialize) return this.sessions.open(x);
    return this.forwardAnywhere(x);
  }

  /** Reads, parses and classifies a POST; answers bad input itself. */
  private async readPost(x: Exchange): Promise<boolean> {
    if (!isJsonContentType(x.req.headers['content-type'])) {
      fail(x, 415, null, RPC.invalidRequest, 'Unsupported Media Type: Content-Type must be application/json');
      return false;
    }
    const limit = this.deps.options.maxBodyBytes;
    try {
      x.body = await readBody(x.req, limit);
    } catch (error) {
      if (error instanceof BodyAbortedError) throw new ClientGoneError(error.message);
      if (!(error instanceof BodyTooLargeError)) throw error;
      lingerAfterRefusal(x.req, x.res);
      fail(x, 413, null, RPC.invalidRequest, `Payload Too Large: the body exceeds ${limit} bytes`);
      return false;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(x.body.toString('utf8'));
    } catch {
      fail(x, 400, null, RPC.parseError, 'Parse error: the body is not valid JSON');
      return false;
    }
    const classified = classifyPost(x.req.headers, parsed);
    if (isRejection(classified)) {
      fail(x, classified.status, classified.id, classified.code, classified.message);
      return false;
    }
    x.classified = classified;
    x.era = classified.era;
    x.label = classified.label;
    return true;
  }

  /** 2026-era and session-less 2025 requests: any healthy worker, least outstanding first. */
  private async forwardAnywhere(x: Exchange): Promise<void> {
    const max = this.deps.options.maxListenStreamsPerUser;
    if (max > 0 && x.classified?.messages.some((m) => m.method === 'subscriptions/listen')) {
      const owner = x.owner ?? '';
      const open = this.listening.get(owner) ?? 0;
      if (open >= max) {
        return fail(
          x,
          429,
          firstId(x),
          RPC.rateLimited,
          `Too many open subscriptions/listen streams: this user has ${open}, the limit is ${max} (--max-listen-streams-per-user); close one first`,
        );
      }
      this.listening.set(owner, open + 1);
      try {
        return await this.forwardToAny(x);
      } finally {
        const left = (this.listening.get(owner) ?? 1) - 1;
        if (left > 0) this.listening.set(owner, left);
        else this.listening.delete(owner);
      }
    }
    return this.forwardToAny(x);
  }

  private async forwardToAny(x: Exchange): Promise<void> {
    if (this.hintCache.answer(x)) return;
    const tried = new Set<string>();
    for (;;) {
      const worker = this.forwarder.pickExcluding(tried);
      if (!worker) return unavailable(x, this.forwarder.noWorkerMessage(tried.size > 0));
      tried.add(worker.id);
      try {
        const upstream = await this.forwarder.send(x, worker, x.headers);
        if (await this.hintCache.relay(x, worker.id, upstream)) return;
        await this.forwarder.relay(x, worker, upstream);
        return;
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        await this.forwarder.isDown(worker, error);
        if (error.failure === 'unreachable') continue;
        if (error.failure === 'timeout')
          return answerTimedOut(x, worker.id, this.deps.options.upstreamTimeoutMs);
        const verdict = await this.forwarder.safeToRetry(x);
        if (verdict.safe) continue;
        this.deps.metrics.retries.inc({ outcome: 'error' });
        return answerInterrupted(x, worker.id, verdict.reason, false);
      }
    }
  }

  private admissionRequest(x: Exchange): AdmissionRequest {
    return {
      req: x.req,
      clientIp: clientAddressOf(x.req, this.deps.options.proxyTrust),
      user: x.user,
      era: x.era,
      classified: x.classified,
    };
  }
}
