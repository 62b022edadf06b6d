import type { IncomingMessage } from 'node:http';

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
 * caller answers 413 and then calls lingerThenClose.
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
 * After a refusal (413) sent while the client is still sending: read and
 * discard the rest of the body, bounded in bytes and time, as nginx's
 * lingering close does. Closing at once would make the client's kernel see
 * a reset while it writes (EPIPE), and it would never read the 413. A body
 * that ends in time leaves a reusable connection; one that does not is cut.
 */
export function lingerThenClose(req: IncomingMessage, lingering: Lingering = DEFAULT_LINGERING): void {
  if (req.complete) return;
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
  const cleanup = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', cleanup);
    req.off('close', cleanup);
  };
  req.on('data', onData);
  req.once('end', cleanup);
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
