import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { WorkerRequestState } from '../cluster/request-state.js';
import { BodyAbortedError, BodyTooLargeError, lingerAfterRefusal, readBody } from '../http/body.js';
import { clientAddressOf, proxyTrustFor, type ProxyTrust } from '../http/client-address.js';
import { checkHostAndOrigin, type HostPolicy } from '../http/host-validation.js';
import { classifyPost, isRejection, type ClassifiedPost } from '../protocol/classify.js';
import { HEADER } from '../protocol/headers.js';
import { RPC, sendRpcError } from '../protocol/jsonrpc.js';
import type { WorkerHostOptions } from './host.js';
import { sendWebResponse, toWebRequest } from './http-bridge.js';
import type { LegacySessions } from './legacy-sessions.js';
import { authInfoFor, identifyWorkerRequest } from './request-identity.js';
import { WorkerRequestTrace } from './request-trace.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface WorkerMcpEndpointDeps {
  options: Pick<
    WorkerHostOptions,
    | 'id'
    | 'maxBodyBytes'
    | 'clusterSecret'
    | 'acceptUnsigned'
    | 'authenticator'
    | 'limiter'
    | 'trustProxy'
    | 'trustedProxies'
  >;
  /** The cluster secret identities are verified with (generated when none was given). */
  secret: string;
  hostPolicy: HostPolicy;
  legacy: LegacySessions;
  /** The 2026 handler, when the hosted server is a v2 one. */
  modern: McpHttpHandler | undefined;
  stateless: boolean;
  requestState: WorkerRequestState;
  metrics: WorkerMetrics;
  /** The worker's own origin, for the web Requests the SDK reads (known once it listens). */
  origin(): string;
  draining(): boolean;
  /** Open GET streams: a drain ends them at once. */
  streams: Set<ServerResponse>;
}

/**
 * A worker's MCP endpoint: the checks a request passes (Host/Origin, body
 * size, the gateway's signed identity, the shared classification, drain,
 * direct-worker limits), then the SDK that answers it: 2025 sessions or the
 * 2026 handler. Returns the era it was served in, or `rejected`.
 */
export class WorkerMcpEndpoint {
  private readonly proxyTrust: ProxyTrust | undefined;

  constructor(private readonly deps: WorkerMcpEndpointDeps) {
    // Direct workers key per-IP limits like a gateway: the rightmost untrusted hop.
    this.proxyTrust = proxyTrustFor(deps.options.trustProxy === true, deps.options.trustedProxies);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const rejected = checkHostAndOrigin(req, this.deps.hostPolicy);
    if (rejected) {
      sendRpcError(res, 403, null, RPC.serverError, `Forbidden: ${rejected}`);
      return 'rejected';
    }
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      sendRpcError(res, 405, null, RPC.serverError, 'Method not allowed.', {
        headers: { allow: 'GET, POST, DELETE' },
      });
      return 'rejected';
    }
    let body: Buffer | undefined;
    let parsedBody: unknown;
    let classified: ClassifiedPost | undefined;
    if (method === 'POST') {
      try {
        body = await readBody(req, this.deps.options.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          lingerAfterRefusal(req, res);
          sendRpcError(
            res,
            413,
            null,
            RPC.invalidRequest,
            `Request body exceeds ${this.deps.options.maxBodyBytes} bytes`,
          );
          return 'rejected';
        }
        // Gone (or cut by the request timeout): nobody to answer.
        if (error instanceof BodyAbortedError) {
          res.destroy();
          return 'rejected';
        }
        throw error;
      }
    }
    // The identity is bound to the body, so it is checked once the body is in.
    const identified = await identifyWorkerRequest(req, body, {
      secret: this.deps.secret,
      secretConfigured: this.deps.options.clusterSecret !== undefined,
      acceptUnsigned: this.deps.options.acceptUnsigned === true,
      authenticator: this.deps.options.authenticator,
    });
    if (!identified.ok) {
      res.writeHead(identified.status, identified.headers);
      res.end(identified.body);
      return 'rejected';
    }
    const user = identified.identity.user;
    if (body !== undefined) {
      try {
        parsedBody = JSON.parse(body.toString('utf8'));
      } catch {
        sendRpcError(res, 400, null, RPC.parseError, 'Parse error: the body is not valid JSON');
        return 'rejected';
      }
      // The gateway's classification: what it refuses, the worker refuses;
      // the era it accounted the POST under is the era it is served in.
      const outcome = classifyPost(req.headers, parsedBody);
      if (isRejection(outcome)) {
        sendRpcError(res, outcome.status, outcome.id, outcome.code, outcome.message);
        return 'rejected';
      }
      classified = outcome;
    }
    // Draining: no new work (requests, streams); answers to the server's own
    // requests (elicitation) and notifications still reach the calls running here.
    if (this.deps.draining() && (method === 'GET' || carriesRequest(parsedBody))) {
      res.setHeader('connection', 'close');
      sendRpcError(res, 503, null, RPC.serverError, 'The worker is draining; send this elsewhere', {
        headers: { 'retry-after': '1', [HEADER.draining]: '1' },
      });
      return 'rejected';
    }
    if (method === 'GET') {
      // Ended at once by a drain: the client reconnects and lands on the new home.
      this.deps.streams.add(res);
      res.once('close', () => this.deps.streams.delete(res));
    }
    // No gateway vouched for this request: this worker is the edge and limits it itself.
    const admitted =
      this.deps.options.limiter && req.headers[HEADER.identity] === undefined
        ? await this.deps.options.limiter.admit({
            req,
            clientIp: clientAddressOf(req, this.proxyTrust),
            user,
            era: classified?.era ?? 'legacy',
            classified,
          })
        : undefined;
    if (admitted && !admitted.ok) {
      res.writeHead(admitted.status, admitted.headers);
      res.end(admitted.body);
      return 'rejected';
    }
    const span = WorkerRequestTrace.start(req, parsedBody, this.deps.options.id);
    /** Hands the request to the SDK (2025 sessions or the 2026 handler) and sends its answer. */
    const answer = async (): Promise<{ era: 'legacy' | 'modern'; status: number }> => {
      const abort = new AbortController();
      // The SDK ends an exchange when its signal aborts: only when the client
      // left before the answer was complete.
      res.once('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      const request = toWebRequest(req, body, this.deps.origin(), abort.signal);
      const authInfo = authInfoFor(identified.identity);
      let era: 'legacy' | 'modern' = 'legacy';
      let response: Response;
      const legacyRequest = !this.deps.modern
        ? true
        : classified
          ? classified.era === 'legacy'
          : await isLegacy(request, parsedBody, this.deps.options.maxBodyBytes);
      // 2026 requestState is minted and verified for the request in hand (cluster/request-state.ts).
      const single = classified && !classified.batch ? classified.messages[0] : undefined;
      const inRequest = <T>(fn: () => Promise<T>): Promise<T> =>
        single && typeof single.method === 'string'
          ? this.deps.requestState.run({ method: single.method, user, params: single.params }, fn)
          : fn();
      const modern = this.deps.modern;
      if (modern && (this.deps.stateless || !legacyRequest)) {
        // Stateless mode: the SDK's own stateless leg answers 2025 requests too.
        era = legacyRequest ? 'legacy' : 'modern';
        response = await inRequest(() => modern.fetch(request, { authInfo: authInfo, parsedBody }));
      } else {
        response = await inRequest(() => this.deps.legacy.handle(request, parsedBody, user, authInfo));
      }
      this.deps.metrics.requests.inc({ era, status: String(response.status) });
      const extra = { ...(admitted?.ok ? admitted.headers : {}), [HEADER.instance]: this.deps.options.id };
      await sendWebResponse(response, res, extra, method === 'GET');
      return { era, status: response.status };
    };
    if (!span) return (await answer()).era;
    let outcome: { era: string; status: number } = { era: 'legacy', status: 500 };
    try {
      outcome = await span.run(answer);
      return outcome.era;
    } finally {
      span.end(outcome.status, outcome.era);
    }
  }
}

function isLegacy(request: Request, parsedBody: unknown, maxRequestBodySize: number): Promise<boolean> {
  return isLegacyRequest(request, parsedBody, { maxRequestBodySize });
}

/** Whether a parsed POST body holds a JSON-RPC request (new work), not only responses or notifications. */
function carriesRequest(body: unknown): boolean {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  return messages.some(
    (m) =>
      typeof m === 'object' && m !== null && 'method' in m && 'id' in m && (m as { id: unknown }).id !== null,
  );
}
