import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADER } from '../protocol/headers.js';
import { errorBody, type JsonRpcId, RPC, sendRpcError } from '../protocol/jsonrpc.js';
import type { Refusal } from './admission.js';
import type { ClassifiedPost, Era } from '../protocol/classify.js';
import type { ExchangeTrace } from './exchange-trace.js';

/** One request through the gateway, as the routing code sees it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  started: number;
  era: Era;
  /** Metrics label: the JSON-RPC method, `batch`, `GET stream`, … */
  label: string;
  user?: string;
  /** Whom per-user caps count this request against: the user, or `ip:<address>` when anonymous. */
  owner?: string;
  /** Headers for the worker: the client's minus hop-by-hop, plus the signed identity. */
  headers: Record<string, string>;
  /** Headers for the client on top of the worker's (rate limits, CORS). */
  extra: Record<string, string>;
  body?: Buffer;
  classified?: ClassifiedPost;
  /** Its spans, when tracing is on. */
  trace?: ExchangeTrace;
}

/** The client went away: nothing to answer, nobody to blame. */
export class ClientGoneError extends Error {}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The id to answer with: the first request's. */
export function firstId(x: Exchange): JsonRpcId {
  return x.classified?.requestIds[0] ?? null;
}

export function fail(
  x: Exchange,
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendRpcError(x.res, status, id, code, message, { headers: { ...x.extra, ...headers } });
}

/** 503 with Retry-After: the client should come back in a moment. */
export function unavailable(x: Exchange, message: string): void {
  fail(x, 503, firstId(x), RPC.unavailable, message, { 'retry-after': '1' });
}

export function refuse(x: Exchange, refusal: Refusal): void {
  x.res.writeHead(refusal.status, { ...x.extra, ...refusal.headers });
  x.res.end(refusal.body);
}

/** Unknown, expired, killed, or presented by another user: all the same 404, as the spec says. */
export function sessionNotFound(x: Exchange): void {
  fail(x, 404, firstId(x), RPC.sessionNotFound, 'Session not found');
}

export function interruptedMessage(workerId: string, reason: string | undefined, session = true): string {
  return `Worker ${workerId} stopped while handling this request; it was not retried because ${
    reason ?? 'it may not be safe to repeat'
  }. ${session ? 'Your session is intact: call' : 'Call'} again if appropriate.`;
}

/**
 * The request reached a worker that died before answering, and it is not
 * safe to repeat: HTTP 200 with a JSON-RPC error per request, which the
 * client's SDK surfaces as an McpError on the call; the session stays usable.
 */
export function answerInterrupted(
  x: Exchange,
  workerId: string,
  reason: string | undefined,
  session = true,
): void {
  const message = interruptedMessage(workerId, reason, session);
  const ids = x.classified?.requestIds ?? [];
  const body =
    ids.length <= 1
      ? errorBody(ids[0] ?? null, RPC.unavailable, message)
      : `[${ids.map((id) => errorBody(id, RPC.unavailable, message)).join(',')}]`;
  x.res.writeHead(200, { ...x.extra, 'content-type': 'application/json', [HEADER.instance]: workerId });
  x.res.end(body);
}

/**
 * The worker took longer than `--upstream-timeout` to start answering. Not
 * retried: a slow worker given the same work twice only gets slower.
 */
export function answerTimedOut(x: Exchange, workerId: string, timeoutMs: number): void {
  fail(
    x,
    504,
    firstId(x),
    RPC.unavailable,
    `Worker ${workerId} did not start answering within ${timeoutMs} ms (--upstream-timeout)`,
    { [HEADER.instance]: workerId },
  );
}
