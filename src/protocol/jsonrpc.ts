import type { ServerResponse } from 'node:http';

/** JSON-RPC and MCP error codes used in responses mcp-scale writes itself. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** MCP Streamable HTTP: server-side errors (session, transport). */
  serverError: -32000,
  sessionNotFound: -32001,
  /** 2026-07-28: header/body mismatch. */
  headerMismatch: -32020,
  /** mcp-scale: rate limit exceeded (HTTP 429). */
  rateLimited: -32029,
  /** mcp-scale: no healthy worker, overloaded, or the worker died mid-request. */
  unavailable: -32050,
} as const;

export type JsonRpcId = string | number | null;

export interface JsonRpcMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export function errorBody(id: JsonRpcId, code: number, message: string, data?: unknown): string {
  const error: Record<string, unknown> = { code, message };
  if (data !== undefined) error.data = data;
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** Answers with a JSON-RPC error body and the given HTTP status. */
export function sendRpcError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  options: { data?: unknown; headers?: Record<string, string | number | string[]> } = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = errorBody(id, code, message, options.data);
  res.writeHead(status, {
    ...options.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function isRequest(message: JsonRpcMessage): boolean {
  return typeof message.method === 'string' && message.id !== undefined && message.id !== null;
}

/** The id to answer with: the request's id when it has a usable one, else null. */
export function replyId(message: JsonRpcMessage | undefined): JsonRpcId {
  const id = message?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Structural JSON-RPC 2.0 check of one message; returns a reason when invalid. */
export function invalidMessageReason(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'a message must be a JSON object';
  const message = value as JsonRpcMessage;
  if (message.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if (message.method !== undefined) {
    if (typeof message.method !== 'string') return 'method must be a string';
    if (message.id !== undefined && typeof message.id !== 'string' && typeof message.id !== 'number') {
      return 'id must be a string or a number';
    }
    if (message.params !== undefined && (typeof message.params !== 'object' || message.params === null)) {
      return 'params must be an object or an array';
    }
    return undefined;
  }
  if (message.result === undefined && message.error === undefined)
    return 'a message needs a method, a result or an error';
  return undefined;
}
