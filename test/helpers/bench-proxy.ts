import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP proxy in front of several MCP servers, for the bench tests:
 *   - 'round-robin': every request to the next upstream (no affinity);
 *   - 'sticky': learns Mcp-Session-Id from responses (as HAProxy's stick
 *     store-response does) and keeps a session on its upstream; when that
 *     upstream is down it sends the request to another one.
 * Responses stream through unbuffered (SSE included).
 *
 * With `labels`, the proxy stamps `Mcp-Scale-Instance: labels[i]` on what
 * upstream i answers, and counts as ground truth the successful JSON-RPC
 * requests whose label differs from the previous one on the same session.
 */
export interface BenchProxy {
  url: string;
  /** Requests forwarded per upstream index. */
  forwarded: number[];
  /** With labels: requests answered under another label than the session's previous one. */
  instanceChanges: number;
  close(): Promise<void>;
}

export async function startBenchProxy(
  upstreams: string[],
  mode: 'round-robin' | 'sticky',
  labels?: string[],
): Promise<BenchProxy> {
  const targets = upstreams.map((u) => new URL(u));
  const forwarded = targets.map(() => 0);
  const sticky = new Map<string, number>();
  const lastLabel = new Map<string, string>();
  const state = { instanceChanges: 0 };
  let next = 0;

  const countChange = (
    req: http.IncomingMessage,
    body: Buffer,
    response: http.IncomingMessage,
    label: string,
  ): void => {
    // The session's first instance is the one that answered its initialize (and minted its id).
    const session = req.headers['mcp-session-id'] ?? response.headers['mcp-session-id'];
    if (req.method !== 'POST' || typeof session !== 'string' || (response.statusCode ?? 500) >= 300) return;
    const message = JSON.parse(body.toString('utf8') || '{}') as { id?: unknown; method?: unknown };
    if (message.id === undefined || message.method === undefined) return;
    const previous = lastLabel.get(session);
    if (previous !== undefined && previous !== label) state.instanceChanges += 1;
    lastLabel.set(session, label);
  };

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
    index: number,
    tries: number,
  ) => {
    const target = targets[index];
    if (!target) throw new Error('no upstream');
    forwarded[index] = (forwarded[index] ?? 0) + 1;
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: req.method,
        headers: { ...req.headers, host: target.host },
      },
      (response) => {
        const session = response.headers['mcp-session-id'];
        if (mode === 'sticky' && typeof session === 'string') sticky.set(session, index);
        const label = labels?.[index];
        if (label) {
          response.headers['mcp-scale-instance'] = label;
          countChange(req, body, response, label);
        }
        res.writeHead(response.statusCode ?? 502, response.headers);
        res.flushHeaders();
        response.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) return void res.destroy();
      if (mode === 'sticky' && tries < targets.length) {
        const other = (index + 1) % targets.length;
        const session = req.headers['mcp-session-id'];
        if (typeof session === 'string') sticky.set(session, other);
        return forward(req, body, res, other, tries + 1);
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream unavailable');
    });
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const session = req.headers['mcp-session-id'];
      const known = mode === 'sticky' && typeof session === 'string' ? sticky.get(session) : undefined;
      const index = known ?? next++ % targets.length;
      forward(req, Buffer.concat(chunks), res, index, 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    forwarded,
    get instanceChanges() {
      return state.instanceChanges;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
