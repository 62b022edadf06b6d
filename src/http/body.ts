import type { IncomingMessage, ServerResponse } from 'node:http';

/** The client closed the connection, or the server's request timeout cut it, before the body was in. */
export class BodyAbortedError extends Error {}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/**
 * Reads a request body up to `limit` bytes. Rejects early on a declared
 * Content-Length over the limit, and stops buffering as soon as the
 * streamed body passes it. The request is left open (not destroyed): the
 * caller calls lingerAfterRefusal and answers 413.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new BodyAbortedError(error.message, { cause: error }));
    };
    const onClose = () => {
      cleanup();
      reject(new BodyAbortedError('the connection closed before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** How much of a refused body is read and thrown away, and for how long, before the connection is cut. */
export interface Lingering {
  maxBytes: number;
  timeoutMs: number;
}

export const DEFAULT_LINGERING: Lingering = { maxBytes: 64 * 1024 * 1024, timeoutMs: 10_000 };

/**
 * For a refusal (413) sent while the client is still sending: call it
 * before answering. It reads and discards the rest of the body, bounded in
 * bytes and time, as nginx's lingering close does; once the body is in,
 * the connection is reusable (a client that asked to close, closes it).
 * Closing at once (what Node does after an answer on a `Connection: close`
 * request) makes the client's kernel see a reset while it writes (EPIPE),
 * and the client never reads the 413. A body that goes on too long or too
 * slowly is cut.
 */
export function lingerAfterRefusal(
  req: IncomingMessage,
  res: ServerResponse,
  lingering: Lingering = DEFAULT_LINGERING,
): void {
  if (req.complete) return;
  // Node would close the socket as soon as the answer is sent; keep it open until the body is read.
  res.shouldKeepAlive = true;
  let seen = 0;
  const cut = () => {
    cleanup();
    req.socket.destroy();
  };
  const timer = setTimeout(cut, lingering.timeoutMs);
  timer.unref();
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > lingering.maxBytes) cut();
  };
  // Read to the end: the connection is clean again and stays reusable, as the answer said.
  const onEnd = () => cleanup();
  const cleanup = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', cleanup);
  };
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', cleanup);
  req.resume();
}
/** Drains whatever is left of a request so the connection can be reused. */
export function discardBody(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || (type?.startsWith('application/') === true && type.endsWith('+json'));
}
