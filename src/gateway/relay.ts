import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { HEADER, HOP_BY_HOP_HEADERS } from '../protocol/headers.js';
import { sseEvent } from '../protocol/sse.js';

/**
 * Response headers that describe one hop, not the message. Content-Length
 * is end to end and kept (the body passes unchanged), so the client gets a
 * plain body instead of chunked framing.
 */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'proxy-authenticate']);

export interface RelayOptions {
  instance: string;
  /** Upstream session id → the client-facing one. */
  sessionId?: { from: string; to: string };
  extraHeaders?: Record<string, string>;
  /**
   * On an SSE response, a comment line (`: keepalive`) after this long
   * without a byte, so a load balancer's idle timeout (often 60 s) does not
   * cut a quiet stream. 0 or undefined: none.
   */
  heartbeatMs?: number;
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
  if (upstream['transfer-encoding'] !== undefined) delete headers['content-length'];
  return headers;
}

export function isEventStream(headers: IncomingHttpHeaders | Record<string, unknown>): boolean {
  // A header value: a string, a string[] (joined by String) or absent.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(headers['content-type'] ?? '').includes('text/event-stream');
}

/**
 * Streams a worker's response to the client chunk by chunk, never
 * buffering: SSE events reach the client as the worker writes them.
 * `flushHeaders` opens a stream at once when asked (GET streams: a client
 * waits for the headers before it listens); otherwise the headers leave
 * with the first chunk, one write instead of two.
 */
export function relayResponse(
  upstream: Dispatcher.ResponseData,
  res: ServerResponse,
  options: RelayOptions & { flushHeaders?: boolean },
): Promise<RelayOutcome> {
  const sse = isEventStream(upstream.headers);
  res.writeHead(upstream.statusCode, responseHeaders(upstream.headers, options));
  if (sse && options.flushHeaders) res.flushHeaders();
  return pipeBody(upstream.body, res, sse, options.heartbeatMs);
}

/** An SSE comment line: ignored by every client, enough traffic for every proxy. */
export const SSE_HEARTBEAT = ': keepalive\n\n';

/**
 * Pipes with stream events rather than an async iterator (the iterator's
 * promise per chunk is a measurable share of the gateway's CPU), pausing the
 * worker's body while the client is slow to read.
 */
export function pipeBody(
  body: Dispatcher.ResponseData['body'],
  res: ServerResponse,
  sse: boolean,
  heartbeatMs = 0,
): Promise<RelayOutcome> {
  return new Promise((resolve) => {
    let endsCleanly = true;
    let settled = false;
    let lastWrite = Date.now();
    // Only between events (the last chunk ended one): a comment inside an
    // event would corrupt it.
    const heartbeat =
      sse && heartbeatMs > 0
        ? setInterval(
            () => {
              if (!endsCleanly || Date.now() - lastWrite < heartbeatMs || res.writableNeedDrain) return;
              lastWrite = Date.now();
              res.write(SSE_HEARTBEAT);
            },
            Math.max(50, Math.floor(heartbeatMs / 2)),
          )
        : undefined;
    heartbeat?.unref();
    const finish = (outcome: RelayOutcome) => {
      if (settled) return;
      settled = true;
      if (heartbeat) clearInterval(heartbeat);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      res.off('close', onClose);
      res.off('drain', onDrain);
      resolve(outcome);
    };
    let corked = false;
    const uncork = () => {
      corked = false;
      res.uncork();
    };
    const onData = (chunk: Buffer) => {
      lastWrite = Date.now();
      endsCleanly = chunk.length >= 2 && chunk[chunk.length - 1] === 0x0a && chunk[chunk.length - 2] === 0x0a;
      // Chunks that arrive together (one read from the worker often holds
      // several events) leave in one write, with the headers and, when the
      // body ends in the same read (a single-event answer), the end of the
      // chunked body: one syscall per answer, not two. Uncorked in the
      // check phase of this loop turn, after the 'end' undici emits on the
      // next tick; nothing waits for more I/O.
      if (!corked) {
        corked = true;
        res.cork();
        setImmediate(uncork);
      }
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      res.end();
      finish({ kind: 'complete', sse });
    };
    const onError = () =>
      finish(res.destroyed ? { kind: 'client-closed' } : { kind: 'upstream-broken', sse, endsCleanly });
    const onClose = () => {
      if (!body.destroyed) body.destroy();
      finish({ kind: 'client-closed' });
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    res.once('close', onClose);
    res.on('drain', onDrain);
  });
}

/** Writes JSON-RPC messages as SSE events onto an already-open stream. */
export function writeSseMessages(res: ServerResponse, messages: unknown[], terminatePartial: boolean): void {
  if (terminatePartial) res.write('\n\n');
  for (const message of messages) res.write(sseEvent(message));
}
