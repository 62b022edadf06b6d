import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Node ↔ web-standard conversion for the SDK transports, which speak
 * `Request`/`Response`. The body has already been read (and size-checked)
 * by the host, so it is passed in rather than streamed again.
 */
export function toWebRequest(
  req: IncomingMessage,
  body: Buffer | undefined,
  origin: string,
  signal: AbortSignal,
): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  return new Request(new URL(req.url ?? '/', origin), {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' || body === undefined ? undefined : new Uint8Array(body),
    // The SDK ends an exchange (and its streams) when the client goes away.
    signal,
  });
}

/**
 * Writes a web Response to a Node response, chunk by chunk: SSE events leave
 * as soon as the SDK produces them.
 */
export async function sendWebResponse(
  response: Response,
  res: ServerResponse,
  extraHeaders: Record<string, string> = {},
  flushHeaders = false,
): Promise<void> {
  const headers: Record<string, string | string[]> = { ...extraHeaders };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const setCookies = response.headers.getSetCookie?.();
  if (setCookies && setCookies.length > 0) headers['set-cookie'] = setCookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  // A GET stream shows its headers at once (the client waits for them
  // before it listens); otherwise they leave with the first chunk.
  if (flushHeaders) res.flushHeaders();
  const reader = response.body.getReader();
  const onClose = () => void reader.cancel().catch(() => {});
  res.once('close', onClose);
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Chunks the SDK produced together leave in one write; a nextTick runs
      // once the stream has nothing more ready, so nothing is held back.
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      if (!res.write(value)) await drainOrClose(res);
    }
  } catch {
    // The client went away or the stream was aborted: nothing left to send.
  } finally {
    res.off('close', onClose);
    res.end();
  }
}

/** Resolves when the response can take more data, or when it is gone. */
export function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
