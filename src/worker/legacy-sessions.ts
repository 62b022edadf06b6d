import { randomBytes } from 'node:crypto';
import { errorBody, RPC } from '../protocol/jsonrpc.js';
import { MemoryEventStore } from './event-store.js';
import type { HostedMcpServer, LoadedServer } from './server-loader.js';
import type { ServerFactoryContext } from './server-module.js';

/** What both SDK lines' web-standard Streamable HTTP server transports offer. */
interface WebTransport {
  sessionId?: string;
  onclose?: () => void;
  handleRequest(request: Request, options?: { parsedBody?: unknown; authInfo?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

type WebTransportClass = new (options: {
  sessionIdGenerator: (() => string) | undefined;
  onsessioninitialized?: (id: string) => void;
  onsessionclosed?: (id: string) => void;
  eventStore?: unknown;
}) => WebTransport;

interface LegacySession {
  id: string;
  user: string | undefined;
  transport: WebTransport;
  server: HostedMcpServer;
  lastActivity: number;
}

export interface LegacySessionsOptions {
  workerId: string;
  loaded: LoadedServer;
  context(user: string | undefined): ServerFactoryContext;
  /** Close sessions nobody used for this long (a backstop; gateways DELETE what they drop). */
  idleTimeoutMs: number;
  /** Serve 2025 requests without sessions: a fresh server per request, any worker can answer. */
  stateless?: boolean;
}

const sessionNotFound = () =>
  new Response(errorBody(null, RPC.sessionNotFound, 'Session not found'), {
    status: 404,
    headers: { 'content-type': 'application/json' },
  });

const sessionRequired = () =>
  new Response(errorBody(null, RPC.serverError, 'Bad Request: Mcp-Session-Id header is required'), {
    status: 400,
    headers: { 'content-type': 'application/json' },
  });

/**
 * 2025-era sessions on one worker: one transport + one server instance per
 * session (the SDK keeps session state in memory). Session ids name this
 * worker (`<workerId>.<random>`) so a proxy without shared state can route
 * them back here.
 */
export class LegacySessions {
  private readonly sessions = new Map<string, LegacySession>();
  private transportClass?: WebTransportClass;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: LegacySessionsOptions) {
    const every = Math.max(1000, Math.min(options.idleTimeoutMs / 4, 60_000));
    this.sweeper = setInterval(() => this.closeIdle(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(
    request: Request,
    parsedBody: unknown,
    user: string | undefined,
    authInfo: unknown,
  ): Promise<Response> {
    if (this.options.stateless) return this.serveStateless(request, parsedBody, user, authInfo);
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // A session presented by someone else is as unknown as a missing one.
      if (!session || session.user !== user) return sessionNotFound();
      session.lastActivity = Date.now();
      return session.transport.handleRequest(request, { parsedBody, authInfo });
    }
    if (request.method !== 'POST' || !isInitialize(parsedBody)) return sessionRequired();
    return this.open(request, parsedBody, user, authInfo);
  }

  private async open(request: Request, parsedBody: unknown, user: string | undefined, authInfo: unknown) {
    const Transport = await this.loadTransportClass();
    const server = await this.options.loaded.create(this.options.context(user));
    let session: LegacySession | undefined;
    const transport = new Transport({
      sessionIdGenerator: () => `${this.options.workerId}.${randomBytes(18).toString('base64url')}`,
      eventStore: new MemoryEventStore(2000),
      onsessioninitialized: (id) => {
        session = { id, user, transport, server, lastActivity: Date.now() };
        this.sessions.set(id, session);
      },
    });
    transport.onclose = () => {
      if (session) this.sessions.delete(session.id);
      void server.close().catch(() => {});
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody, authInfo });
    if (!session) {
      // initialize failed (bad params, unsupported version): nothing to keep.
      void transport.close().catch(() => {});
    }
    return response;
  }

  /**
   * The SDK's stateless idiom (sessionIdGenerator undefined): one server and
   * transport per request, closed when the exchange ends. Used for SDK 1.x
   * servers in `--sessions stateless`; v2 servers get the same from
   * createMcpHandler's stateless legacy leg.
   */
  private async serveStateless(
    request: Request,
    parsedBody: unknown,
    user: string | undefined,
    authInfo: unknown,
  ) {
    if (request.method !== 'POST') {
      return new Response(errorBody(null, RPC.serverError, 'Method not allowed.'), {
        status: 405,
        headers: { 'content-type': 'application/json', allow: 'POST' },
      });
    }
    const Transport = await this.loadTransportClass();
    const server = await this.options.loaded.create(this.options.context(user));
    const transport = new Transport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    let closed = false;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      void transport.close().catch(() => {});
      void server.close().catch(() => {});
    };
    request.signal.addEventListener('abort', cleanup);
    const response = await transport.handleRequest(request, { parsedBody, authInfo });
    if (!response.body) {
      cleanup();
      return response;
    }
    // Closed once the answer has been read to its end (or abandoned).
    const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: cleanup }));
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  private async loadTransportClass(): Promise<WebTransportClass> {
    if (!this.transportClass) {
      this.transportClass =
        this.options.loaded.sdk === 'v2'
          ? ((await import('@modelcontextprotocol/server'))
              .WebStandardStreamableHTTPServerTransport as unknown as WebTransportClass)
          : ((await import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'))
              .WebStandardStreamableHTTPServerTransport as unknown as WebTransportClass);
    }
    return this.transportClass;
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const session of this.sessions.values()) {
      if (session.lastActivity < cutoff) void this.closeSession(session);
    }
  }

  private async closeSession(session: LegacySession): Promise<void> {
    this.sessions.delete(session.id);
    await session.transport.close().catch(() => {});
    await session.server.close().catch(() => {});
  }

  /** Ends every session (drain): open streams end, clients re-initialize elsewhere. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((session) => this.closeSession(session)));
  }
}

function isInitialize(body: unknown): boolean {
  const first = Array.isArray(body) ? body[0] : body;
  return (
    typeof first === 'object' && first !== null && (first as { method?: unknown }).method === 'initialize'
  );
}
