import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpHandler, McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

/**
 * MCP servers for the bench tests, built with the real SDKs, that count on
 * the server side what they served so a test can hold the bench's numbers
 * against ground truth:
 *   - 'v2': a v2 McpServer behind createMcpHandler (2026-07-28 requests and
 *     stateless 2025 requests);
 *   - 'v1': an SDK 1.x McpServer per session behind StreamableHTTPServerTransport
 *     (sessionful 2025).
 * Every response carries `Mcp-Scale-Instance: <instanceId>`.
 */
export interface ServerCounts {
  /** JSON-RPC requests answered (not notifications), by method and by tool. */
  requests: number;
  byMethod: Record<string, number>;
  byTool: Record<string, number>;
  /** 429s sent, and how many of them carried Retry-After. */
  limited: number;
  limitedWithRetryAfter: number;
  /** Tool results marked `_meta["mcp-scale/cache"]`. */
  cacheHits: number;
  cacheMisses: number;
  sessionsCreated: number;
  /** 404s sent to JSON-RPC requests (not notifications) for a session id this server does not know. */
  sessionNotFound: number;
}

export interface BenchServerOptions {
  sdk: 'v1' | 'v2';
  instanceId?: string;
  /** Fixed delay before every tool answers. */
  delayMs?: number;
  /**
   * Admit this many JSON-RPC requests (notifications are free), then answer
   * 429 with -32029, as the mcp-scale gateway charges its limits.
   */
  admitRequests?: number;
  /** Retry-After seconds on the 429s; undefined = no Retry-After header. */
  retryAfterSeconds?: number;
  /** Mark repeated reads of the same arguments as cache hits in `_meta`. */
  markCache?: boolean;
  /** Run one tool call at a time (a server with a fixed capacity of 1000/delayMs calls/s). */
  serialize?: boolean;
}

export interface BenchServer {
  url: string;
  instanceId: string;
  counts: ServerCounts;
  /** Forget every 2025 session (as a restarted worker would): later requests on them get 404. */
  dropSessions(): void;
  /** 2025 sessions currently open (DELETE closes one). */
  openSessions(): number;
  close(): Promise<void>;
}

const READ_TOOLS = new Set(['get_product', 'search_products', 'get_inventory', 'get_user']);

function emptyCounts(): ServerCounts {
  return {
    requests: 0,
    byMethod: {},
    byTool: {},
    limited: 0,
    limitedWithRetryAfter: 0,
    cacheHits: 0,
    cacheMisses: 0,
    sessionsCreated: 0,
    sessionNotFound: 0,
  };
}

type ToolResult = { content: { type: 'text'; text: string }[]; _meta?: Record<string, unknown> };
type Progress = (progress: number, total: number) => Promise<void>;

/** The demo shop's tools, shared by both SDK lines. */
function shopTools(options: BenchServerOptions, counts: ServerCounts) {
  const seen = new Set<string>();
  let queue: Promise<unknown> = Promise.resolve();
  const pause = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, options.delayMs));
  const answer = async (tool: string, args: unknown, data: unknown): Promise<ToolResult> => {
    if (options.delayMs && options.serialize) {
      const turn = queue.then(pause);
      queue = turn;
      await turn;
    } else if (options.delayMs) await pause();
    const result: ToolResult = { content: [{ type: 'text', text: JSON.stringify(data) }] };
    if (options.markCache && READ_TOOLS.has(tool)) {
      const key = `${tool}:${JSON.stringify(args)}`;
      const hit = seen.has(key);
      seen.add(key);
      if (hit) counts.cacheHits += 1;
      else counts.cacheMisses += 1;
      result._meta = { 'mcp-scale/cache': hit ? 'hit' : 'miss' };
    }
    return result;
  };
  return {
    get_product: (a: { id: string }) => answer('get_product', a, { id: a.id, name: `Product ${a.id}` }),
    search_products: (a: { query: string; limit?: number }) =>
      answer('search_products', a, { results: [a.query], limit: a.limit ?? 10 }),
    get_inventory: (a: { id: string }) => answer('get_inventory', a, { id: a.id, stock: 7 }),
    update_inventory: (a: { id: string; delta: number }) =>
      answer('update_inventory', a, { id: a.id, stock: 7 + a.delta }),
    get_user: () => answer('get_user', {}, { user: 'anonymous' }),
    generate_report: async (a: { seconds: number }, progress: Progress) => {
      const steps = 3;
      for (let step = 1; step <= steps; step++) {
        await new Promise((resolve) => setTimeout(resolve, (a.seconds * 1000) / steps));
        await progress(step, steps);
      }
      return answer('generate_report', a, { report: 'done' });
    },
  };
}

const idSchema = { id: z.string() };
const searchSchema = { query: z.string(), limit: z.number().optional() };
const updateSchema = { id: z.string(), delta: z.number() };
const reportSchema = { seconds: z.number() };

function buildV2Server(
  options: BenchServerOptions,
  counts: ServerCounts,
  tools: ReturnType<typeof shopTools>,
) {
  void counts;
  const server = new McpServerV2({ name: 'bench-test-v2', version: '1.0.0' });
  server.registerTool('get_product', { inputSchema: z.object(idSchema) }, (a) => tools.get_product(a));
  server.registerTool('search_products', { inputSchema: z.object(searchSchema) }, (a) =>
    tools.search_products(a),
  );
  server.registerTool('get_inventory', { inputSchema: z.object(idSchema) }, (a) => tools.get_inventory(a));
  server.registerTool('update_inventory', { inputSchema: z.object(updateSchema) }, (a) =>
    tools.update_inventory(a),
  );
  server.registerTool('get_user', {}, () => tools.get_user());
  server.registerTool('generate_report', { inputSchema: z.object(reportSchema) }, (a, ctx) =>
    tools.generate_report(a, async (progress, total) => {
      const token = ctx.mcpReq._meta?.progressToken;
      if (token === undefined) return;
      await ctx.mcpReq.notify({
        method: 'notifications/progress',
        params: { progressToken: token, progress, total },
      });
    }),
  );
  void options;
  return server;
}

function buildV1Server(tools: ReturnType<typeof shopTools>) {
  const server = new McpServerV1({ name: 'bench-test-v1', version: '1.0.0' });
  server.registerTool('get_product', { inputSchema: idSchema }, (a) => tools.get_product(a));
  server.registerTool('search_products', { inputSchema: searchSchema }, (a) => tools.search_products(a));
  server.registerTool('get_inventory', { inputSchema: idSchema }, (a) => tools.get_inventory(a));
  server.registerTool('update_inventory', { inputSchema: updateSchema }, (a) => tools.update_inventory(a));
  server.registerTool('get_user', {}, () => tools.get_user());
  server.registerTool('generate_report', { inputSchema: reportSchema }, (a, extra) =>
    tools.generate_report(a, async (progress, total) => {
      const token = extra._meta?.progressToken;
      if (token === undefined) return;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, total },
      });
    }),
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

type Message = { id?: unknown; method?: string; params?: { name?: string } };

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const instanceId = options.instanceId ?? `test-${randomUUID().slice(0, 6)}`;
  const counts = emptyCounts();
  const tools = shopTools(options, counts);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const forgotten: StreamableHTTPServerTransport[] = [];
  const v2Handler =
    options.sdk === 'v2'
      ? toNodeHandler(createMcpHandler(() => buildV2Server(options, counts, tools)))
      : null;
  let admitted = 0;

  const limit = (res: ServerResponse, id: unknown): void => {
    counts.limited += 1;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'ratelimit-policy': `${options.admitRequests ?? 0};w=60`,
      ratelimit: 'limit=0, remaining=0, reset=30',
      'x-ratelimit-limit': String(options.admitRequests ?? 0),
      'x-ratelimit-remaining': '0',
    };
    if (options.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(options.retryAfterSeconds);
      counts.limitedWithRetryAfter += 1;
    }
    res.writeHead(429, headers);
    res.end(
      JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code: -32029, message: 'Rate limited' } }),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('Mcp-Scale-Instance', instanceId);
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const message = (Array.isArray(body) ? undefined : body) as Message | undefined;
    const isRequest = message?.method !== undefined && message.id !== undefined;
    if (isRequest && options.admitRequests !== undefined) {
      if (admitted >= options.admitRequests) return limit(res, message.id);
      admitted += 1;
    }
    if (isRequest && message.method) {
      counts.requests += 1;
      counts.byMethod[message.method] = (counts.byMethod[message.method] ?? 0) + 1;
      const tool = message.method === 'tools/call' ? message.params?.name : undefined;
      if (tool) counts.byTool[tool] = (counts.byTool[tool] ?? 0) + 1;
    }
    if (v2Handler) return v2Handler(req, res, body);
    await handleV1(req, res, body, message);
  };

  const handleV1 = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    message: Message | undefined,
  ): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (typeof sessionId === 'string' || message?.method !== 'initialize') {
      if (typeof sessionId === 'string' && message?.id !== undefined) counts.sessionNotFound += 1;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }),
      );
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => `${instanceId}.${randomUUID()}`,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        counts.sessionsCreated += 1;
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await buildV1Server(tools).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    instanceId,
    counts,
    openSessions: () => sessions.size,
    dropSessions: () => {
      // Forget, do not close: a request in flight still gets its answer.
      for (const transport of sessions.values()) forgotten.push(transport);
      sessions.clear();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const transport of [...sessions.values(), ...forgotten])
        await transport.close().catch(() => undefined);
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
