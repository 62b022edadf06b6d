import { randomBytes } from 'node:crypto';
import { HEADER } from '../protocol/headers.js';
import { errorBody, RPC } from '../protocol/jsonrpc.js';
import { ReplayBuffer } from './event-store.js';
import { SessionTable } from './session-table.js';
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
  /**
   * Live sessions at most (`--max-sessions-per-worker`; 0 = unbounded). When
   * full, the least recently used idle session is closed to make room; a
   * gateway re-homes it on its next request (this worker then answers 404).
   */
  maxSessions?: number;
  /** Events kept for `Last-Event-ID` replay, shared by all sessions (bounded); a private default one otherwise. */
  replay?: ReplayBuffer;
  /** Told of every eviction and refusal (metrics). */
  onEvicted?: () => void;
  onRefused?: () => void;
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
  private readonly sessions: SessionTable<LegacySession>;
  private transportClass?: WebTransportClass;
  private readonly sweeper: NodeJS.Timeout;
  /** Sessions closed to make room for new ones, since start. */
  evictions = 0;
  /** New sessions refused because every slot was busy, since start. */
  refusals = 0;
  /** Events kept for `Last-Event-ID` replay, all sessions together. */
  readonly replay: ReplayBuffer;

  constructor(private readonly options: LegacySessionsOptions) {
    this.sessions = new SessionTable(options.maxSessions ?? 0);
    this.replay = options.replay ?? new ReplayBuffer();
    const every = Math.max(1000, Math.min(options.idleTimeoutMs / 4, this.replay.bounds.windowMs, 60_000));
    this.sweeper = setInterval(() => {
      this.closeIdle();
      this.replay.sweep();
    }, every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get idleCount(): number {
    return this.sessions.idleCount;
  }

  get maxSessions(): number {
    return this.sessions.max;
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
      const known = this.sessions.get(sessionId);
      // A session presented by someone else is as unknown as a missing one;
      // so is an evicted one (the gateway replays it, as after a restart).
      if (!known || known.user !== user) return sessionNotFound();
      const session = this.sessions.acquire(sessionId)!;
      return this.whileBusy(session, () =>
        session.transport.handleRequest(request, { parsedBody, authInfo }),
      );
    }
    if (request.method !== 'POST' || !isInitialize(parsedBody)) return sessionRequired();
    return this.open(request, parsedBody, user, authInfo);
  }

  private async open(request: Request, parsedBody: unknown, user: string | undefined, authInfo: unknown) {
    const slot = this.sessions.reserve();
    if (!slot.ok) {
      this.refusals++;
      this.options.onRefused?.();
      return sessionsFull(this.sessions.max);
    }
    if (slot.victim) {
      this.evictions++;
      this.options.onEvicted?.();
      void this.closeSession(slot.victim.value);
    }
    let session: LegacySession | undefined;
    let response: Response;
    try {
      const Transport = await this.loadTransportClass();
      const server = await this.options.loaded.create(this.options.context(user));
      const transport = new Transport({
        sessionIdGenerator: () => `${this.options.workerId}.${randomBytes(18).toString('base64url')}`,
        eventStore: this.replay.forSession(),
        onsessioninitialized: (id) => {
          session = { id, user, transport, server, lastActivity: Date.now() };
          // Busy from the start: its initialize is being answered.
          this.sessions.add(id, session);
        },
      });
      transport.onclose = () => {
        if (session && this.sessions.get(session.id) === session) this.sessions.delete(session.id);
        void server.close().catch(() => {});
      };
      await server.connect(transport);
      response = await transport.handleRequest(request, { parsedBody, authInfo });
      if (!session) {
        // initialize failed (bad params, unsupported version): nothing to keep.
        void transport.close().catch(() => {});
      }
    } finally {
      if (!session) this.sessions.unreserve();
    }
    const opened = session;
    if (!opened) return response;
    return whenBodyDone(response, () => this.idleAgain(opened));
  }

  /** Runs one exchange on a session, keeping it busy until its response (stream) has ended. */
  private async whileBusy(session: LegacySession, exchange: () => Promise<Response>): Promise<Response> {
    let response: Response;
    try {
      response = await exchange();
    } catch (error) {
      this.idleAgain(session);
      throw error;
    }
    return whenBodyDone(response, () => this.idleAgain(session));
  }

  private idleAgain(session: LegacySession): void {
    session.lastActivity = Date.now();
    this.sessions.release(session.id);
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
    for (const { value } of this.sessions.idleSince(cutoff, (session) => session.lastActivity)) {
      void this.closeSession(value);
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
    await Promise.all(this.sessions.values().map((session) => this.closeSession(session)));
  }
}

/** 503 + Retry-After: every slot holds a session with a request or stream open; existing sessions go on. */
function sessionsFull(max: number): Response {
  return new Response(
    errorBody(
      null,
      RPC.unavailable,
      `This worker holds its maximum of ${max} live sessions, all busy (--max-sessions-per-worker); try again shortly`,
    ),
    {
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '1', [HEADER.sessionsFull]: '1' },
    },
  );
}

/**
 * The same response, calling `done` once when its body has been read to the
 * end, failed, or been cancelled (the client left). A response without a
 * body is done at once.
 */
export function whenBodyDone(response: Response, done: () => void): Response {
  if (!response.body) {
    done();
    return response;
  }
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          finish();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function isInitialize(body: unknown): boolean {
  const first: unknown = Array.isArray(body) ? body[0] : body;
  return (
    typeof first === 'object' && first !== null && (first as { method?: unknown }).method === 'initialize'
  );
}
