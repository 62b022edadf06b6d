import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { HEADER, HOP_BY_HOP_HEADERS } from '../protocol/headers.js';
import { sseEvent } from '../protocol/sse.js';
import type { UpstreamBody, UpstreamResponse } from './upstream-call.js';

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
  upstream: UpstreamResponse,
  res: ServerResponse,
  options: RelayOptions & { flushHeaders?: boolean },
): Promise<RelayOutcome> {
  const sse = isEventStream(upstream.headers);
  const headers = responseHeaders(upstream.headers, options);
  const whole = upstream.body.takeIfComplete();
  if (whole) {
    // Already all here: one write, headers and body, with its length.
    headers['content-length'] = String(whole.length);
    res.writeHead(upstream.statusCode, headers);
    res.end(whole);
    return Promise.resolve({ kind: 'complete', sse });
  }
  res.writeHead(upstream.statusCode, headers);
  if (sse && options.flushHeaders) res.flushHeaders();
  return pipeBody(upstream.body, res, sse, options.heartbeatMs);
}

/** An SSE comment line: ignored by every client, enough traffic for every proxy. */
export const SSE_HEARTBEAT = ': keepalive\n\n';

/**
 * Writes the worker's body into the client's response as it arrives,
 * pausing the worker while the client is slow to read.
 */
export function pipeBody(
  body: UpstreamBody,
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
      res.off('close', onClose);
      res.off('drain', onDrain);
      resolve(outcome);
    };
    let corked = false;
    const uncork = () => {
      corked = false;
      res.uncork();
    };
    const onDrain = () => body.resume();
    const onClose = () => {
      body.destroy();
      finish({ kind: 'client-closed' });
    };
    res.once('close', onClose);
    res.on('drain', onDrain);
    body.pipe({
      write(chunk) {
        if (settled) return true;
        lastWrite = Date.now();
        endsCleanly =
          chunk.length >= 2 && chunk[chunk.length - 1] === 0x0a && chunk[chunk.length - 2] === 0x0a;
        // Chunks that arrive together (one read from the worker often holds
        // several events) leave in one write, with the end of the chunked
        // body when it came in the same read. Uncorked once this read has
        // been processed (undici delivers a read's chunks synchronously);
        // nothing waits for more I/O.
        if (!corked) {
          corked = true;
          res.cork();
          queueMicrotask(uncork);
        }
        return res.write(chunk);
      },
      end() {
        if (settled) return;
        res.end();
        finish({ kind: 'complete', sse });
      },
      error() {
        finish(res.destroyed ? { kind: 'client-closed' } : { kind: 'upstream-broken', sse, endsCleanly });
      },
    });
  });
}

/** Writes JSON-RPC messages as SSE events onto an already-open stream. */
export function writeSseMessages(res: ServerResponse, messages: unknown[], terminatePartial: boolean): void {
  if (terminatePartial) res.write('\n\n');
  for (const message of messages) res.write(sseEvent(message));
}
