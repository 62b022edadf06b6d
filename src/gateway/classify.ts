import type { IncomingHttpHeaders } from 'node:http';
import { HEADER } from '../protocol/headers.js';
import {
  invalidMessageReason,
  isRequest,
  type JsonRpcId,
  type JsonRpcMessage,
  replyId,
  RPC,
} from '../protocol/jsonrpc.js';

export type Era = 'legacy' | 'modern';

/** The 2026-07-28 `_meta` envelope key naming a request's protocol revision. */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';

export interface ClassifiedPost {
  era: Era;
  messages: JsonRpcMessage[];
  batch: boolean;
  /** JSON-RPC requests (messages with an id), in order. */
  requests: JsonRpcMessage[];
  requestIds: JsonRpcId[];
  isInitialize: boolean;
  /** Metrics label: the method, `batch`, `notification` or `response`. */
  label: string;
}

export interface Rejection {
  status: number;
  code: number;
  message: string;
  id: JsonRpcId;
}

/** 2026-07-28 and later revisions are "modern" (stateless, per-request envelope). */
export function isModernVersion(version: string | undefined): boolean {
  return typeof version === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= '2026-01-01';
}

function envelopeVersion(message: JsonRpcMessage): string | undefined {
  const params = message.params as { _meta?: Record<string, unknown> } | undefined;
  const value = params?._meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses and classifies a POST body: one JSON-RPC message or a batch, its
 * wire era (a modern protocol-version header or a `_meta` envelope claim
 * makes it 2026-era), and what it asks for.
 */
export function classifyPost(headers: IncomingHttpHeaders, parsed: unknown): ClassifiedPost | Rejection {
  const batch = Array.isArray(parsed);
  const messages = (batch ? parsed : [parsed]) as unknown[];
  if (messages.length === 0) {
    return { status: 400, code: RPC.invalidRequest, message: 'Invalid Request: empty batch', id: null };
  }
  for (const message of messages) {
    const reason = invalidMessageReason(message);
    if (reason) {
      return {
        status: 400,
        code: RPC.invalidRequest,
        message: `Invalid Request: ${reason}`,
        id: replyId(message as JsonRpcMessage),
      };
    }
  }
  const typed = messages as JsonRpcMessage[];
  const headerVersion = headers[HEADER.protocolVersion];
  const modern =
    isModernVersion(typeof headerVersion === 'string' ? headerVersion : undefined) ||
    typed.some((message) => envelopeVersion(message) !== undefined);
  const requests = typed.filter(isRequest);
  const first = typed[0] as JsonRpcMessage;
  return {
    era: modern ? 'modern' : 'legacy',
    messages: typed,
    batch,
    requests,
    requestIds: requests.map((message) => replyId(message)),
    isInitialize: typed.some((message) => message.method === 'initialize'),
    label: batch
      ? 'batch'
      : typeof first.method === 'string'
        ? first.method
        : first.id !== undefined && first.method === undefined
          ? 'response'
          : 'notification',
  };
}

export function isRejection(value: ClassifiedPost | Rejection): value is Rejection {
  return 'status' in value;
}

/** The tool, prompt or resource a message names, as `Mcp-Name` must carry it. */
export function nameOf(message: JsonRpcMessage): string | undefined {
  const params = message.params as { name?: unknown; uri?: unknown } | undefined;
  if (message.method === 'tools/call' || message.method === 'prompts/get') {
    return typeof params?.name === 'string' ? params.name : undefined;
  }
  if (message.method === 'resources/read') return typeof params?.uri === 'string' ? params.uri : undefined;
  return undefined;
}

/**
 * 2026-07-28 mirrors the method and name into `Mcp-Method` / `Mcp-Name`
 * headers so intermediaries can route without parsing; they must agree with
 * the body (a mismatch is a 400). Checked before anything is keyed on them.
 */
export function checkModernHeaders(
  headers: IncomingHttpHeaders,
  classified: ClassifiedPost,
): Rejection | undefined {
  if (classified.batch) return undefined;
  const message = classified.messages[0] as JsonRpcMessage;
  const id = replyId(message);
  const method = headers[HEADER.mcpMethod];
  if (typeof method === 'string' && method !== message.method) {
    return {
      status: 400,
      code: RPC.headerMismatch,
      message: `Header mismatch: Mcp-Method '${method}' does not match the body's method '${String(message.method)}'`,
      id,
    };
  }
  const name = headers[HEADER.mcpName];
  if (typeof name === 'string') {
    const bodyName = nameOf(message);
    if (bodyName !== undefined && decodeHeaderValue(name) !== bodyName) {
      return {
        status: 400,
        code: RPC.headerMismatch,
        message: `Header mismatch: Mcp-Name '${name}' does not match the body's '${bodyName}'`,
        id,
      };
    }
  }
  return undefined;
}

/** Header values that could not be sent raw may be percent-encoded. */
function decodeHeaderValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
