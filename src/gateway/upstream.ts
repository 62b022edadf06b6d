import { sealIdentity } from '../cluster/identity.js';
import { HEADER } from '../protocol/headers.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { readJsonRpcMessages } from '../protocol/sse.js';
import { UpstreamCall, type UpstreamResponse } from './upstream-call.js';
import type { WorkerState } from './worker-pool.js';

/**
 * How an upstream request failed: `unreachable` means it never reached the
 * worker (always safe to send elsewhere); `broken` means the connection died
 * after it was sent (safe only for idempotent requests); `timeout` means no
 * answer in time.
 */
export type UpstreamFailure = 'unreachable' | 'broken' | 'timeout';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export class UpstreamError extends Error {
  constructor(
    readonly failure: UpstreamFailure,
    readonly worker: string,
    cause: unknown,
  ) {
    super(`worker ${worker} ${failure}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export function classifyFailure(error: unknown): UpstreamFailure {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: string }).code;
    if (code && UNREACHABLE.has(code)) return 'unreachable';
    if (code && TIMEOUT.has(code)) return 'timeout';
    current = (current as { cause?: unknown }).cause;
  }
  return 'broken';
}

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: Buffer | string;
  /** GET streams use the unbounded stream pool. */
  stream?: boolean;
  headersTimeoutMs: number;
}

/** A request under way: `response` settles with the headers; `abort()` gives up on it. */
export interface StartedUpstream {
  response: Promise<UpstreamResponse>;
  /** Whether abort() was called. */
  readonly aborted: boolean;
  abort(): void;
}

/**
 * Sends one request to a worker. The response (or an UpstreamError) comes
 * when its headers arrive; a draining worker's refusal counts as unreachable.
 */
export function startUpstream(worker: WorkerState, request: UpstreamRequest): StartedUpstream {
  const pool = request.stream ? worker.streams : worker.requests;
  const call = new UpstreamCall();
  pool.dispatch(
    {
      path: worker.path,
      method: request.method,
      headers: sealed(worker, request.headers, request.method, request.body),
      body: request.body,
      headersTimeout: request.headersTimeoutMs,
      // Streams may sit idle for as long as they like; the client decides.
      bodyTimeout: 0,
    },
    call,
  );
  const response = call.response.then(
    (response) => refuseDraining(worker, response),
    (error: unknown) => {
      throw new UpstreamError(classifyFailure(error), worker.id, error);
    },
  );
  return new UpstreamInFlight(response, call);
}

/**
 * A class, not an object literal with a getter: V8 turns such a literal into
 * a dictionary-mode object whose accessor is held from old space, so until
 * the next full GC it kept its closure, and through it the call's whole
 * request graph, alive across every scavenge. That promoted a quarter of
 * everything the gateway allocated (2.4 MB per scavenge at 1,500 calls/s,
 * 4-5 ms scavenge pauses, a mark-compact every few seconds); with a class,
 * about a tenth of that and sub-millisecond scavenges (docs/performance.md).
 */
class UpstreamInFlight implements StartedUpstream {
  constructor(
    readonly response: Promise<UpstreamResponse>,
    private readonly call: UpstreamCall,
  ) {}

  get aborted(): boolean {
    return this.call.aborted;
  }

  abort(): void {
    this.call.abort(new Error('the client closed the connection'));
  }
}

/** Sends one request to a worker; failures come back as UpstreamError. */
export function sendUpstream(worker: WorkerState, request: UpstreamRequest): Promise<UpstreamResponse> {
  return startUpstream(worker, request).response;
}

async function refuseDraining(worker: WorkerState, response: UpstreamResponse): Promise<UpstreamResponse> {
  if (response.statusCode === 503 && response.headers[HEADER.draining] !== undefined) {
    // A draining worker refused the request before processing it: like a
    // refused connection, it may go to another worker whatever its method.
    await response.body.dump();
    throw new UpstreamError('unreachable', worker.id, new Error('draining'));
  }
  return response;
}

/**
 * One JSON-RPC exchange the gateway makes on its own behalf (re-homing, the
 * tool catalogue): returns the status, the session id header and the
 * response to `id`.
 */
export async function callUpstream(
  worker: WorkerState,
  message: JsonRpcMessage,
  headers: Record<string, string>,
  timeoutMs = 5000,
): Promise<{ status: number; sessionId?: string; response?: JsonRpcMessage }> {
  const data = await sendUpstream(worker, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(message),
    headersTimeoutMs: timeoutMs,
  });
  const sessionHeader = data.headers['mcp-session-id'];
  const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
  if (message.id === undefined) {
    await data.body.dump();
    return { status: data.statusCode, sessionId };
  }
  const contentType = String(data.headers['content-type'] ?? '');
  let response: JsonRpcMessage | undefined;
  const body = data.body.toReadable();
  try {
    const messages = await readJsonRpcMessages(
      contentType,
      body,
      (m) => m.id === message.id && m.method === undefined,
    );
    response = messages.find((m) => m.id === message.id && m.method === undefined);
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return { status: data.statusCode, sessionId, response };
}

/** Ends a session on a worker (best effort: a worker that is gone took it along). */
export async function deleteUpstreamSession(
  worker: WorkerState,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  try {
    const response = await sendUpstream(worker, { method: 'DELETE', headers, headersTimeoutMs: timeoutMs });
    await response.body.dump();
  } catch {
    // gone already
  }
}

/** Headers with the identity claim signed for exactly this request (the worker checks the binding). */
function sealed(
  worker: WorkerState,
  headers: Record<string, string>,
  method: string,
  body: Buffer | string | undefined,
): Record<string, string> {
  return worker.signer ? sealIdentity(worker.signer, headers, HEADER.identity, { method, body }) : headers;
}
