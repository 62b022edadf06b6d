import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { drainOrClose } from '../worker/http-bridge.js';
import { HEADER } from '../protocol/headers.js';
import { sseEvent } from '../protocol/sse.js';

/** Response headers that describe one hop, not the message. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'content-length',
]);

export interface RelayOptions {
  instance: string;
  /** Upstream session id → the client-facing one. */
  sessionId?: { from: string; to: string };
  extraHeaders?: Record<string, string>;
}

export type RelayOutcome =
  /** Everything arrived. */
  | { kind: 'complete'; sse: boolean }
  /** The client went away first. */
  | { kind: 'client-closed' }
  /** The worker's stream broke after the headers went out. */
  | { kind: 'upstream-broken'; sse: boolean; endsCleanly: boolean };

export function responseHeaders(
  upstream: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  options: RelayOptions,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers[name] = value;
  }
  if (options.sessionId && headers[HEADER.sessionId] === options.sessionId.from) {
    headers[HEADER.sessionId] = options.sessionId.to;
  }
  headers[HEADER.instance] = options.instance;
  if (options.extraHeaders) Object.assign(headers, options.extraHeaders);
  return headers;
}

export function isEventStream(headers: IncomingHttpHeaders | Record<string, unknown>): boolean {
  return String(headers['content-type'] ?? '').includes('text/event-stream');
}

/**
 * Streams a worker's response to the client chunk by chunk, never
 * buffering: SSE events reach the client as the worker writes them.
 */
export async function relayResponse(
  upstream: Dispatcher.ResponseData,
  res: ServerResponse,
  options: RelayOptions,
): Promise<RelayOutcome> {
  const sse = isEventStream(upstream.headers);
  res.writeHead(upstream.statusCode, responseHeaders(upstream.headers, options));
  if (sse) res.flushHeaders();
  return pipeBody(upstream.body, res, sse);
}

export async function pipeBody(
  body: Dispatcher.ResponseData['body'],
  res: ServerResponse,
  sse: boolean,
): Promise<RelayOutcome> {
  let endsCleanly = true;
  const onClose = () => {
    if (!body.destroyed) body.destroy();
  };
  res.once('close', onClose);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (res.destroyed) return { kind: 'client-closed' };
      endsCleanly = chunk.length >= 2 && chunk[chunk.length - 1] === 0x0a && chunk[chunk.length - 2] === 0x0a;
      if (!res.write(chunk)) await drainOrClose(res);
    }
  } catch {
    if (res.destroyed) return { kind: 'client-closed' };
    return { kind: 'upstream-broken', sse, endsCleanly };
  } finally {
    res.off('close', onClose);
  }
  if (res.destroyed) return { kind: 'client-closed' };
  res.end();
  return { kind: 'complete', sse };
}

/** Writes JSON-RPC messages as SSE events onto an already-open stream. */
export function writeSseMessages(res: ServerResponse, messages: unknown[], terminatePartial: boolean): void {
  if (terminatePartial) res.write('\n\n');
  for (const message of messages) res.write(sseEvent(message));
}
