import type { IncomingHttpHeaders } from 'node:http';
import { HEADER } from './headers.js';
import { CLIENT_NOTIFICATION_METHODS, methodLabel } from './mcp-methods.js';
import {
  invalidMessageReason,
  isRequest,
  type JsonRpcId,
  type JsonRpcMessage,
  replyId,
  RPC,
} from './jsonrpc.js';

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
  /**
   * Notifications outside the spec (`notifications/initialized`, progress,
   * cancellation and roots changes are in it): each costs one point against
   * the limits, so they cannot be used to make a server work for free.
   */
  chargedNotifications: JsonRpcMessage[];
  /** Metrics label, from a bounded set: a spec method, `other`, `batch` or `response`. */
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
 * makes it 2026-era; `initialize` is the 2025 handshake and always 2025-era,
 * as the SDK serves it), and what it asks for.
 *
 * This is THE classification: the gateway accounts for a POST by it, and
 * the worker host refuses and routes by the same function, so the two can
 * never disagree on what a message is (which era, whether it is a request).
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
  if (nestingExceeds(parsed, MAX_JSON_DEPTH)) {
    return {
      status: 400,
      code: RPC.invalidRequest,
      message: `Invalid Request: the body nests deeper than ${MAX_JSON_DEPTH} levels`,
      id: batch ? null : replyId(parsed as JsonRpcMessage),
    };
  }
  const typed = messages as JsonRpcMessage[];
  // An `initialize` without an id would open a session whose id nobody is
  // told and no limit counts: the spec makes initialize a request.
  const idless = typed.find((message) => message.method === 'initialize' && !isRequest(message));
  if (idless) {
    return {
      status: 400,
      code: RPC.invalidRequest,
      message: 'Invalid Request: initialize must be a request with an id, not a notification',
      id: null,
    };
  }
  const isInitialize = typed.some((message) => message.method === 'initialize');
  const headerVersion = headers[HEADER.protocolVersion];
  const modern =
    !isInitialize &&
    (isModernVersion(typeof headerVersion === 'string' ? headerVersion : undefined) ||
      typed.some((message) => envelopeVersion(message) !== undefined));
  const requests = typed.filter(isRequest);
  const first = typed[0] as JsonRpcMessage;
  return {
    era: modern ? 'modern' : 'legacy',
    messages: typed,
    batch,
    requests,
    requestIds: requests.map((message) => replyId(message)),
    isInitialize,
    chargedNotifications: typed.filter(
      (message) =>
        typeof message.method === 'string' &&
        !isRequest(message) &&
        !CLIENT_NOTIFICATION_METHODS.has(message.method),
    ),
    label: batch ? 'batch' : typeof first.method === 'string' ? methodLabel(first.method) : 'response',
  };
}

/**
 * Deepest nesting a body may have. Real MCP traffic stays far below; 100,000
 * levels overflowed the stack of recursive code downstream (validation,
 * canonical JSON for cache keys) and came back as a 500 with a stack trace.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether a parsed JSON value nests deeper than `max` (iterative: no recursion to overflow). */
export function nestingExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
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
