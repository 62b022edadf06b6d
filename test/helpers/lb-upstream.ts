import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny stand-in for an mcp-scale instance behind a proxy, on a free
 * loopback port:
 *   GET /healthz, /readyz      → 200
 *   GET /sse?count=N&delayMs=D → text/event-stream, N events D ms apart, each
 *                                carrying the time it was written
 *   any method /die/<id>       → on upstream <id>: the body is read, then the
 *                                connection is destroyed with no answer (an
 *                                instance dying mid-request); elsewhere the
 *                                JSON answer below
 *   any other request          → JSON { id, bytes, sessionId }; a request
 *                                without Mcp-Session-Id gets a new session id
 *                                `<id>.<random>`, as the worker host mints them
 * Every response carries `Mcp-Scale-Instance: <id>`.
 */
export interface TestUpstream {
  id: string;
  url: string;
  /** Requests answered, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export interface UpstreamReply {
  id: string;
  bytes: number;
  sessionId: string;
}

export async function startTestUpstream(
  id: string,
  where: { host?: string; port?: number } = {},
): Promise<TestUpstream> {
  const hits = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://upstream');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    response.setHeader('Mcp-Scale-Instance', id);
    if (url.pathname === '/healthz' || url.pathname === '/readyz') {
      response.end('ok');
      return;
    }
    if (url.pathname === '/sse') {
      streamEvents(
        response,
        Number(url.searchParams.get('count') ?? 3),
        Number(url.searchParams.get('delayMs') ?? 100),
      );
      return;
    }
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      if (url.pathname === `/die/${id}`) {
        request.socket.destroy();
        return;
      }
      const given = request.headers['mcp-session-id'];
      const sessionId =
        typeof given === 'string' ? given : `${id}.${crypto.randomBytes(12).toString('base64url')}`;
      response.setHeader('Mcp-Session-Id', sessionId);
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify({ id, bytes, sessionId } satisfies UpstreamReply));
    });
  });
  const host = where.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(where.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    id,
    url: `http://${host}:${port}`,
    hits,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function streamEvents(response: http.ServerResponse, count: number, delayMs: number): void {
  response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let sent = 0;
  const send = () => {
    if (response.destroyed) return;
    response.write(`id: ${sent}\ndata: ${JSON.stringify({ i: sent, writtenAt: Date.now() })}\n\n`);
    sent++;
    if (sent < count) setTimeout(send, delayMs);
    else response.end();
  };
  send();
}

export interface ReceivedEvent {
  i: number;
  writtenAt: number;
  receivedAt: number;
}

/** Reads an SSE response event by event, noting when each arrived. */
export function readEvents(url: string, headers: Record<string, string> = {}): Promise<ReceivedEvent[]> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      url,
      { agent: false, headers: { Accept: 'text/event-stream', ...headers } },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET ${url}: ${response.statusCode}`));
          response.resume();
          return;
        }
        const events: ReceivedEvent[] = [];
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          const receivedAt = Date.now();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((line) => line.startsWith('data: '));
            if (data)
              events.push({ ...(JSON.parse(data.slice(6)) as { i: number; writtenAt: number }), receivedAt });
          }
        });
        response.on('end', () => resolve(events));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

export interface PostResult {
  status: number;
  instance: string | undefined;
  body: string;
}

/** One POST with its own connection, so the proxy balances each request afresh. */
export function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const instance = response.headers['mcp-scale-instance'];
          resolve({
            status: response.statusCode ?? 0,
            instance: typeof instance === 'string' ? instance : undefined,
            body: text,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** One request with its own connection; a transport error is a result, not a rejection. */
export function send(
  url: string,
  method: 'GET' | 'POST',
): Promise<{ status: number; instance: string | undefined } | { error: string }> {
  return new Promise((resolve) => {
    const headers = method === 'POST' ? { 'Content-Type': 'application/json', 'Content-Length': 2 } : {};
    const request = http.request(url, { method, agent: false, headers }, (response) => {
      response.resume();
      response.on('end', () => {
        const instance = response.headers['mcp-scale-instance'];
        resolve({
          status: response.statusCode ?? 0,
          instance: typeof instance === 'string' ? instance : undefined,
        });
      });
      response.on('error', (error) => resolve({ error: error.message }));
    });
    request.on('error', (error) => resolve({ error: error.message }));
    request.end(method === 'POST' ? '{}' : undefined);
  });
}

export function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', reject);
  });
}
