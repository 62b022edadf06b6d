import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayHintCache } from '../cache/hint-cache.js';
import type { IdentitySigner } from '../cluster/identity.js';
import { BodyTooLargeError, isJsonContentType, readBody } from '../http/body.js';
import { GATEWAY_ONLY_HEADERS, HEADER } from '../protocol/headers.js';
import { errorBody, type JsonRpcId, RPC, sendRpcError } from '../protocol/jsonrpc.js';
import { readJsonRpcMessages } from '../protocol/sse.js';
import type { AdmissionRequest, Authenticator, Limiter, Refusal } from './admission.js';
import { checkModernHeaders, classifyPost, type ClassifiedPost, type Era, isRejection } from './classify.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import {
  isEventStream,
  relayResponse,
  pipeBody,
  responseHeaders,
  writeSseMessages,
  type RelayOutcome,
} from './relay.js';
import { retryVerdict } from './retry-policy.js';
import type { SessionDirectory } from './session-directory.js';
import type { SessionRecord } from './session-record.js';
import { Rehomer } from './rehome.js';
import type { ToolCatalog } from './tool-catalog.js';
import { sendUpstream, UpstreamError } from './upstream.js';
import type { WorkerPool, WorkerState } from './worker-pool.js';

export interface RouterOptions {
  maxBodyBytes: number;
  maxInflight: number;
  upstreamTimeoutMs: number;
  trustProxy: boolean;
}

export interface RouterDeps {
  options: RouterOptions;
  pool: WorkerPool;
  directory: SessionDirectory;
  catalog: ToolCatalog;
  metrics: GatewayMetrics;
  signer: IdentitySigner;
  authenticator: Authenticator;
  limiter: Limiter;
  /** Extra response headers for every MCP response (CORS). */
  corsHeaders(req: IncomingMessage): Record<string, string>;
}

/**
 * Request headers that describe one hop, that only the gateway may set, or
 * that the gateway has already enforced (Origin: the gateway's own
 * DNS-rebinding and CORS policy decided; a worker bound to loopback would
 * otherwise refuse a browser origin the operator allowed).
 */
const DROP_REQUEST_HEADERS = new Set([
  'host',
  'origin',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'content-length',
  ...GATEWAY_ONLY_HEADERS,
]);

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  started: number;
  era: Era;
  label: string;
  user?: string;
  /** Headers for the worker: the client's minus hop-by-hop, plus the signed identity. */
  headers: Record<string, string>;
  /** Headers for the client on top of the worker's (rate limits, CORS). */
  extra: Record<string, string>;
  body?: Buffer;
  classified?: ClassifiedPost;
}

/**
 * The MCP endpoint: classify, authenticate, rate-limit, route, proxy.
 * 2026-era and session-less 2025 requests go to the least-loaded healthy
 * worker; 2025 sessions go to the worker that holds them, and move to a
 * healthy one (Rehomer) when it is gone.
 */
export class McpRouter {
  private readonly rehomer: Rehomer;
  /** 2026-era results the server marked cacheable (ttlMs/cacheScope), see cache/hint-cache.ts. */
  private readonly hintCache = new GatewayHintCache();

  constructor(private readonly deps: RouterDeps) {
    this.rehomer = new Rehomer(
      deps.pool,
      deps.directory,
      deps.metrics,
      deps.options.maxInflight,
      deps.options.upstreamTimeoutMs,
    );
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange: Exchange = {
      req,
      res,
      started: performance.now(),
      era: 'legacy',
      label: req.method ?? 'GET',
      headers: {},
      extra: this.deps.corsHeaders(req),
    };
    try {
      await this.route(exchange);
    } catch (error) {
      console.error('[gateway] request failed:', error);
      this.fail(exchange, 500, null, RPC.internalError, 'Internal error in the gateway');
    } finally {
      this.deps.metrics.requests.inc({
        era: exchange.era,
        method: exchange.label,
        status: String(res.statusCode),
      });
    }
  }

  private async route(x: Exchange): Promise<void> {
    const method = x.req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      this.fail(x, 405, null, RPC.serverError, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
      return;
    }
    const auth = await this.deps.authenticator.authenticate(x.req);
    if (!auth.ok) return this.refuse(x, auth);
    x.user = auth.user;
    x.headers = this.upstreamHeaders(x.req, x.user);

    if (method === 'POST') {
      if (!(await this.readPost(x))) return;
      const classified = x.classified!;
      if (classified.era === 'modern') {
        const mismatch = checkModernHeaders(x.req.headers, classified);
        if (mismatch) return this.fail(x, mismatch.status, mismatch.id, mismatch.code, mismatch.message);
      }
    } else {
      x.label = method === 'GET' ? 'GET stream' : 'DELETE session';
    }

    const admission = await this.deps.limiter.admit(this.admissionRequest(x));
    if (!admission.ok) return this.refuse(x, admission);
    Object.assign(x.extra, admission.headers);

    const sessionId = headerValue(x.req.headers[HEADER.sessionId]);
    if (x.era === 'legacy' && sessionId) return this.forwardToSession(x, sessionId);
    if (x.era === 'legacy' && x.classified?.isInitialize) return this.openSession(x);
    return this.forwardAnywhere(x);
  }

  /** Reads, parses and classifies a POST; answers bad input itself. */
  private async readPost(x: Exchange): Promise<boolean> {
    if (!isJsonContentType(x.req.headers['content-type'])) {
      this.fail(
        x,
        415,
        null,
        RPC.invalidRequest,
        'Unsupported Media Type: Content-Type must be application/json',
      );
      return false;
    }
    try {
      x.body = await readBody(x.req, this.deps.options.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      x.res.setHeader('connection', 'close');
      this.fail(
        x,
        413,
        null,
        RPC.invalidRequest,
        `Payload Too Large: the body exceeds ${this.deps.options.maxBodyBytes} bytes`,
      );
      return false;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(x.body.toString('utf8'));
    } catch {
      this.fail(x, 400, null, RPC.parseError, 'Parse error: the body is not valid JSON');
      return false;
    }
    const classified = classifyPost(x.req.headers, parsed);
    if (isRejection(classified)) {
      this.fail(x, classified.status, classified.id, classified.code, classified.message);
      return false;
    }
    x.classified = classified;
    x.era = classified.era;
    x.label = classified.label;
    return true;
  }

  /** 2026-era and session-less 2025 requests: any healthy worker, least outstanding first. */
  private async forwardAnywhere(x: Exchange): Promise<void> {
    if (this.hintCache.answer(x)) return;
    const tried = new Set<string>();
    for (;;) {
      const worker = this.pickExcluding(tried);
      if (!worker) return this.noWorker(x, tried.size > 0);
      tried.add(worker.id);
      try {
        const upstream = await this.send(x, worker, x.headers);
        if (await this.hintCache.relay(x, worker.id, upstream)) return;
        await this.relay(x, worker, upstream);
        return;
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        this.deps.pool.markDown(worker.id);
        if (error.failure === 'unreachable' || (await this.safeToRetry(x)).safe) continue;
        return this.interrupted(x, worker, (await this.safeToRetry(x)).reason);
      }
    }
  }

  /** A 2025 initialize: create the upstream session, then own the client-facing id. */
  private async openSession(x: Exchange): Promise<void> {
    const tried = new Set<string>();
    for (;;) {
      const worker = this.pickExcluding(tried);
      if (!worker) return this.noWorker(x, tried.size > 0);
      tried.add(worker.id);
      let upstream: Dispatcher.ResponseData;
      try {
        upstream = await this.send(x, worker, x.headers);
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        this.deps.pool.markDown(worker.id);
        continue; // initialize is always safe to send again
      }
      const upstreamId = headerValue(upstream.headers[HEADER.sessionId]);
      if (upstream.statusCode !== 200 || !upstreamId) {
        // A refusal, or a stateless server that issues no session: pass it through.
        await this.relay(x, worker, upstream);
        return;
      }
      const initialize = x.classified!.messages.find((m) => m.method === 'initialize');
      const record: SessionRecord = {
        id: randomBytes(24).toString('base64url'),
        worker: worker.id,
        upstream: upstreamId,
        user: x.user,
        initParams: JSON.stringify(initialize?.params ?? {}),
        subscriptions: [],
        createdAt: Date.now(),
        version: 0,
      };
      // Stored before the client learns the id, so its next request may go to any gateway.
      await this.deps.directory.create(record);
      await this.relay(x, worker, upstream, { from: upstreamId, to: record.id });
      return;
    }
  }

  /** A request on a 2025 session: to its worker, re-homing first when that worker is gone. */
  private async forwardToSession(x: Exchange, sessionId: string): Promise<void> {
    const lookup = await this.deps.directory.get(sessionId);
    if ('unavailable' in lookup) {
      return this.fail(
        x,
        503,
        this.firstId(x),
        RPC.unavailable,
        'Session store unavailable; try again shortly',
        {
          'retry-after': '1',
        },
      );
    }
    // Unknown, expired, killed, or presented by another user: all the same 404.
    if ('missing' in lookup || lookup.found.user !== x.user) return this.sessionNotFound(x);
    let record = lookup.found;
    if (x.req.method === 'DELETE') return this.deleteSession(x, record);
    await this.recordStateCalls(x, record);

    for (let attempt = 0; attempt < 3; attempt++) {
      let worker = this.deps.pool.get(record.worker);
      if (!worker || !worker.healthy) {
        const moved = await this.rehome(x, record, 'worker-down');
        if (!moved) return;
        record = moved;
        worker = this.deps.pool.get(record.worker)!;
      }
      if (worker.inflight >= this.deps.options.maxInflight && x.req.method !== 'GET') {
        return this.fail(
          x,
          503,
          this.firstId(x),
          RPC.unavailable,
          `Worker ${worker.id} is at its concurrency limit`,
          {
            'retry-after': '1',
          },
        );
      }
      const headers = { ...x.headers, [HEADER.sessionId]: record.upstream };
      let upstream: Dispatcher.ResponseData;
      try {
        upstream = await this.send(x, worker, headers);
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        this.deps.pool.markDown(worker.id);
        const verdict = error.failure === 'unreachable' ? { safe: true } : await this.safeToRetry(x);
        if (!verdict.safe) {
          this.interrupted(x, worker, verdict.reason);
          void this.rehome(undefined, record, 'worker-died');
          return;
        }
        continue; // the loop re-homes (the worker is marked down) and sends again
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
      const outcome = await this.relay(x, worker, upstream, { from: record.upstream, to: record.id });
      if (outcome.kind === 'upstream-broken') await this.afterBrokenStream(x, worker, record, outcome);
      return;
    }
    this.fail(
      x,
      503,
      this.firstId(x),
      RPC.unavailable,
      'No worker could serve this session; try again shortly',
      {
        'retry-after': '1',
      },
    );
  }

  /**
   * The worker died while its SSE response was streaming: safe requests are
   * sent again on the session's new home and its events continue on the same
   * stream; others get a JSON-RPC error event. A GET stream simply ends (the
   * client reconnects and lands on the new home).
   */
  private async afterBrokenStream(
    x: Exchange,
    worker: WorkerState,
    record: SessionRecord,
    outcome: Extract<RelayOutcome, { kind: 'upstream-broken' }>,
  ): Promise<void> {
    this.deps.pool.markDown(worker.id);
    if (x.req.method === 'GET' || !outcome.sse || !x.classified || x.classified.requests.length === 0) {
      x.res.end();
      void this.rehome(undefined, record, 'worker-died');
      return;
    }
    const verdict = await this.safeToRetry(x);
    const moved = verdict.safe ? await this.rehome(undefined, record, 'worker-died') : undefined;
    const target = moved ? this.deps.pool.get(moved.worker) : undefined;
    if (moved && target) {
      try {
        const again = await this.send(x, target, { ...x.headers, [HEADER.sessionId]: moved.upstream });
        this.deps.metrics.retries.inc({ outcome: 'retried' });
        if (!outcome.endsCleanly) x.res.write('\n\n');
        if (isEventStream(again.headers)) {
          await pipeBody(again.body, x.res, true);
        } else {
          const messages = await readJsonRpcMessages(String(again.headers['content-type'] ?? ''), again.body);
          writeSseMessages(x.res, messages, false);
          x.res.end();
        }
        return;
      } catch {
        // fall through to the error event
      }
    }
    if (!moved) void this.rehome(undefined, record, 'worker-died');
    this.deps.metrics.retries.inc({ outcome: 'error' });
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

  private async deleteSession(x: Exchange, record: SessionRecord): Promise<void> {
    const worker = this.deps.pool.get(record.worker);
    await this.deps.directory.remove(record.id);
    if (worker?.healthy) {
      try {
        const upstream = await this.send(x, worker, { ...x.headers, [HEADER.sessionId]: record.upstream });
        if (upstream.statusCode !== 404) {
          await this.relay(x, worker, upstream, { from: record.upstream, to: record.id });
          return;
        }
        await upstream.body.dump().catch(() => {});
      } catch {
        // the worker is gone: its copy went with it
      }
    }
    x.res.writeHead(200, { ...x.extra, [HEADER.instance]: record.worker });
    x.res.end();
  }

  /** Remembers logging/setLevel and resources/(un)subscribe so a re-home can replay them. */
  private async recordStateCalls(x: Exchange, record: SessionRecord): Promise<void> {
    const messages = x.classified?.requests ?? [];
    let logLevel: string | undefined;
    let subscriptions: string[] | undefined;
    for (const message of messages) {
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
      await this.deps.directory.patch(record, {
        ...(logLevel !== undefined ? { logLevel } : {}),
        ...(subscriptions !== undefined ? { subscriptions } : {}),
      });
    }
  }

  /**
   * Moves the session to a healthy worker. With an exchange, failures are
   * answered to the client and undefined is returned.
   */
  private async rehome(
    x: Exchange | undefined,
    record: SessionRecord,
    reason: string,
    allowSameWorker = false,
  ): Promise<SessionRecord | undefined> {
    try {
      return await this.rehomer.rehome(record, this.identityHeaders(record.user), reason, allowSameWorker);
    } catch (error) {
      if (x) {
        this.fail(
          x,
          503,
          this.firstId(x),
          RPC.unavailable,
          `Session could not be moved to a healthy worker: ${(error as Error).message}`,
          {
            'retry-after': '1',
          },
        );
      }
      return undefined;
    }
  }

  private async send(x: Exchange, worker: WorkerState, headers: Record<string, string>) {
    const stream = x.req.method === 'GET';
    const abort = new AbortController();
    const onClose = () => abort.abort();
    x.res.once('close', onClose);
    if (!stream) worker.inflight++;
    else worker.openStreams++;
    try {
      const upstream = await sendUpstream(worker, {
        method: x.req.method as 'GET' | 'POST' | 'DELETE',
        headers,
        body: x.body,
        stream,
        signal: abort.signal,
        headersTimeoutMs: this.deps.options.upstreamTimeoutMs,
      });
      // The slot is held until the body is done, so the cap counts real work.
      upstream.body.once('close', () => {
        if (!stream) worker.inflight--;
        else worker.openStreams--;
        x.res.off('close', onClose);
      });
      if (!stream) {
        this.deps.metrics.duration.observe(
          { era: x.era, method: x.label },
          (performance.now() - x.started) / 1000,
        );
      }
      return upstream;
    } catch (error) {
      if (!stream) worker.inflight--;
      else worker.openStreams--;
      x.res.off('close', onClose);
      throw error;
    }
  }

  private relay(
    x: Exchange,
    worker: WorkerState,
    upstream: Dispatcher.ResponseData,
    sessionId?: { from: string; to: string },
  ) {
    return relayResponse(upstream, x.res, { instance: worker.id, sessionId, extraHeaders: x.extra });
  }

  private async safeToRetry(x: Exchange) {
    const calls = x.classified?.requests ?? [];
    for (const message of calls) {
      if (message.method === 'tools/call') {
        await this.deps.catalog.ensure(String((message.params as { name?: unknown } | undefined)?.name));
      }
    }
    return retryVerdict(x.classified?.messages ?? [], this.deps.catalog);
  }

  /** The request reached a worker that died before answering, and it is not safe to repeat. */
  private interrupted(x: Exchange, worker: WorkerState, reason: string | undefined): void {
    this.deps.metrics.retries.inc({ outcome: 'error' });
    const message = interruptedMessage(worker.id, reason);
    const ids = x.classified?.requestIds ?? [];
    if (ids.length <= 1) {
      // HTTP 200 with a JSON-RPC error: the client's SDK surfaces it as an
      // McpError on the call, and the session stays usable.
      const body = errorBody(ids[0] ?? null, RPC.unavailable, message);
      x.res.writeHead(200, { ...x.extra, 'content-type': 'application/json', [HEADER.instance]: worker.id });
      x.res.end(body);
      return;
    }
    const batch = `[${ids.map((id) => errorBody(id, RPC.unavailable, message)).join(',')}]`;
    x.res.writeHead(200, { ...x.extra, 'content-type': 'application/json', [HEADER.instance]: worker.id });
    x.res.end(batch);
  }

  private pickExcluding(tried: Set<string>): WorkerState | undefined {
    let worker = this.deps.pool.pick(this.deps.options.maxInflight);
    if (worker && tried.has(worker.id)) {
      worker = this.deps.pool
        .list()
        .find((w) => w.healthy && !tried.has(w.id) && w.inflight < this.deps.options.maxInflight);
    }
    return worker;
  }

  private noWorker(x: Exchange, afterFailures: boolean): void {
    const anyHealthy = this.deps.pool.healthyCount() > 0;
    const message =
      anyHealthy && !afterFailures
        ? 'All workers are at their concurrency limit (--max-inflight)'
        : 'No healthy worker is available';
    this.fail(x, 503, this.firstId(x), RPC.unavailable, message, { 'retry-after': '1' });
  }

  private sessionNotFound(x: Exchange): void {
    this.fail(x, 404, this.firstId(x), RPC.sessionNotFound, 'Session not found');
  }

  private firstId(x: Exchange): JsonRpcId {
    return x.classified?.requestIds[0] ?? null;
  }

  private refuse(x: Exchange, refusal: Refusal): void {
    x.res.writeHead(refusal.status, { ...x.extra, ...refusal.headers });
    x.res.end(refusal.body);
  }

  private fail(
    x: Exchange,
    status: number,
    id: JsonRpcId,
    code: number,
    message: string,
    headers: Record<string, string> = {},
  ) {
    sendRpcError(x.res, status, id, code, message, { headers: { ...x.extra, ...headers } });
  }

  private admissionRequest(x: Exchange): AdmissionRequest {
    return { req: x.req, clientIp: this.clientIp(x.req), user: x.user, era: x.era, classified: x.classified };
  }

  clientIp(req: IncomingMessage): string {
    if (this.deps.options.trustProxy) {
      const forwarded = headerValue(req.headers['x-forwarded-for']);
      const first = forwarded?.split(',')[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  identityHeaders(user: string | undefined): Record<string, string> {
    return { [HEADER.identity]: this.deps.signer.sign({ user }) };
  }

  private upstreamHeaders(req: IncomingMessage, user: string | undefined): Record<string, string> {
    const headers: Record<string, string> = {};
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (DROP_REQUEST_HEADERS.has(name) || name.startsWith('mcp-scale-')) continue;
      const value = raw[i + 1] as string;
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const ip = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] =
      headers['x-forwarded-for'] && this.deps.options.trustProxy
        ? `${headers['x-forwarded-for']}, ${ip}`
        : ip;
    headers[HEADER.identity] = this.deps.signer.sign({ user });
    return headers;
  }
}

/**
 * Whether a worker's answer means "I do not know this session": 404 as the
 * spec says, or the 400 some servers (older SDKs, server-everything) send
 * for an unknown id ("Bad Request: No valid session ID provided"). Other
 * 400s are read (they are small) and handed back for relaying.
 */
async function sessionLost(upstream: Dispatcher.ResponseData): Promise<{ lost: boolean; body?: Buffer }> {
  if (upstream.statusCode === 404) {
    await upstream.body.dump().catch(() => {});
    return { lost: true };
  }
  if (upstream.statusCode !== 400) return { lost: false };
  const body = Buffer.from(await upstream.body.arrayBuffer());
  const text = body.subarray(0, 4096).toString('utf8');
  return { lost: /session/i.test(text) && /(no valid|not found|unknown|invalid|expired)/i.test(text), body };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function interruptedMessage(workerId: string, reason: string | undefined): string {
  return `Worker ${workerId} stopped while handling this request; it was not retried because ${
    reason ?? 'it may not be safe to repeat'
  }. Your session is intact: call again if appropriate.`;
}
