import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  localhostHostValidation,
  localhostOriginValidation,
  NodeStreamableHTTPServerTransport,
} from '@modelcontextprotocol/node';
import {
  createRequestStateCodec,
  isInitializeRequest,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { HEADER } from '../protocol/headers.js';
import { httpUrl } from '../util/net.js';
import type { ClusterBusLike, ServerFactory, ServerFactoryContext } from '../worker/server-module.js';
import { MemoryEventStore } from './memory-event-store.js';

/**
 * The conformance suite's target (a) until the worker host exists: one
 * process hosting a server module the way a worker will for 2025-era
 * clients (one SDK Streamable HTTP transport and one server per session, an
 * event store for resumable streams, localhost Host/Origin checks), with no
 * gateway and nothing of mcp-scale's own in the request path. 2026-era
 * (sessionless) requests are refused: the suite's scenarios are 2025-era.
 */
export interface DirectHostOptions {
  /** A server module path (default export or `createServer`), or the factory itself. */
  server: string | ServerFactory;
  host?: string;
  port?: number;
  /** Endpoint path; default `/mcp`. */
  path?: string;
  workerId?: string;
  /** SSE `retry` hint (ms) sent in priming events; default 500. */
  retryIntervalMs?: number;
  /**
   * Skip the localhost Host/Origin checks. Only to show what the suite's
   * dns-rebinding-protection scenario catches; never for a real server.
   */
  allowAnyHost?: boolean;
}

export interface DirectHost {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
}

export async function loadServerFactory(modulePath: string): Promise<ServerFactory> {
  const loaded = (await import(pathToFileURL(path.resolve(modulePath)).href)) as Record<string, unknown>;
  const factory = loaded.default ?? loaded.createServer;
  if (typeof factory !== 'function') {
    throw new Error(`${modulePath} exports no server factory (default export or createServer)`);
  }
  return factory as ServerFactory;
}

export async function startDirectHost(options: DirectHostOptions): Promise<DirectHost> {
  const factory =
    typeof options.server === 'string' ? await loadServerFactory(options.server) : options.server;
  const host = options.host ?? '127.0.0.1';
  const endpoint = options.path ?? '/mcp';
  const workerId = options.workerId ?? 'direct';
  const sessions = new Map<string, Session>();
  const eventStore = new MemoryEventStore();
  const context = factoryContext(workerId);
  const validateHost = localhostHostValidation();
  const validateOrigin = localhostOriginValidation();

  async function openSession(req: http.IncomingMessage, res: http.ServerResponse, body: unknown) {
    const server = factory(context) as McpServer;
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => `${workerId}.${randomUUID()}`,
      eventStore,
      retryInterval: options.retryIntervalMs ?? 500,
      onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    // DNS-rebinding protection, as the SDK's own app factories apply it.
    if (!options.allowAnyHost && (!validateHost(req, res) || !validateOrigin(req, res))) return;
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== endpoint) {
      return reply(res, 404, jsonRpcError(-32000, `Not found: use ${endpoint}`));
    }
    const sessionId = req.headers[HEADER.sessionId];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return reply(res, 404, jsonRpcError(-32001, 'Session not found'));
      return session.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return reply(res, 400, jsonRpcError(-32000, 'Mcp-Session-Id header required'));
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return reply(res, 400, jsonRpcError(-32700, 'Parse error'));
    }
    if (!isInitializeRequest(body)) {
      return reply(
        res,
        400,
        jsonRpcError(-32000, 'No session: send initialize first (2026-era requests are not served here)'),
      );
    }
    await openSession(req, res, body);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, jsonRpcError(-32603, String(error)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let closing: Promise<void> | undefined;
  return {
    url: httpUrl(host, port, endpoint),
    port,
    close: () => {
      closing ??= (async () => {
        const open = [...sessions.values()];
        sessions.clear();
        await Promise.allSettled(open.map(async (s) => s.server.close()));
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/** A context like the worker host's, with process-local stand-ins for the cluster pieces. */
function factoryContext(workerId: string): ServerFactoryContext {
  const codec = createRequestStateCodec({ key: randomBytes(32) });
  const emitter = new EventEmitter();
  const bus: ClusterBusLike = {
    publish: (topic, message) => void emitter.emit(topic, message),
    subscribe: (topic, listener) => {
      emitter.on(topic, listener);
      return () => void emitter.off(topic, listener);
    },
  };
  return {
    workerId,
    era: 'legacy',
    requestState: {
      mint: (payload) => codec.mint(payload),
      // No bind callback is configured, so the codec never reads ctx.
      verify: (state, ctx) => codec.verify(state, ctx as ServerContext),
    },
    bus,
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
