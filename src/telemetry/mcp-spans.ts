import type { IncomingHttpHeaders } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';

/**
 * Spans as the OTel semantic conventions for MCP name them:
 * `{mcp.method.name} {target}` with mcp.method.name, mcp.session.id,
 * mcp.protocol.version, gen_ai.tool.name, jsonrpc.request.id, and error.type
 * plus an error status on failure. mcp-scale's own facts (worker, era, cache
 * outcome, re-home) are under `mcp_scale.*`.
 */
export const ATTR = {
  method: 'mcp.method.name',
  sessionId: 'mcp.session.id',
  protocolVersion: 'mcp.protocol.version',
  toolName: 'gen_ai.tool.name',
  operationName: 'gen_ai.operation.name',
  promptName: 'gen_ai.prompt.name',
  resourceUri: 'mcp.resource.uri',
  requestId: 'jsonrpc.request.id',
  rpcErrorCode: 'rpc.response.status_code',
  errorType: 'error.type',
  httpStatus: 'http.response.status_code',
  httpMethod: 'http.request.method',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  worker: 'mcp_scale.worker.id',
  era: 'mcp_scale.era',
  cacheOutcome: 'mcp_scale.cache.outcome',
} as const;

export function mcpTracer(): Tracer {
  return trace.getTracer('mcp-scale');
}

/** What a span is named after and carries, from a JSON-RPC message (the first of a batch). */
export function mcpAttributes(messages: readonly JsonRpcMessage[]): { name: string; attributes: Attributes } {
  const first = messages[0];
  if (!first || messages.length > 1 || typeof first.method !== 'string') {
    return { name: messages.length > 1 ? 'batch' : 'response', attributes: {} };
  }
  const method = first.method;
  const params = (first.params ?? {}) as { name?: unknown; uri?: unknown };
  const attributes: Attributes = { [ATTR.method]: method };
  if (typeof first.id === 'string' || typeof first.id === 'number')
    attributes[ATTR.requestId] = String(first.id);
  let target: string | undefined;
  if (method === 'tools/call' && typeof params.name === 'string') {
    target = params.name;
    attributes[ATTR.toolName] = target;
    attributes[ATTR.operationName] = 'execute_tool';
  } else if (method === 'prompts/get' && typeof params.name === 'string') {
    target = params.name;
    attributes[ATTR.promptName] = target;
  } else if (method.startsWith('resources/') && typeof params.uri === 'string') {
    target = params.uri;
    attributes[ATTR.resourceUri] = target;
  }
  return { name: target ? `${method} ${target}` : method, attributes };
}

/** The protocol version the request states (header, or the 2026 `_meta` envelope, or initialize's params). */
export function protocolVersionOf(
  headers: IncomingHttpHeaders,
  message?: JsonRpcMessage,
): string | undefined {
  const header = headers['mcp-protocol-version'];
  if (typeof header === 'string') return header;
  const params = message?.params as
    { protocolVersion?: unknown; _meta?: Record<string, unknown> } | undefined;
  const fromMeta = params?._meta?.['io.modelcontextprotocol/protocolVersion'];
  if (typeof fromMeta === 'string') return fromMeta;
  return message?.method === 'initialize' && typeof params?.protocolVersion === 'string'
    ? params.protocolVersion
    : undefined;
}

/**
 * The caller's trace context: a W3C `traceparent` header, else the one the
 * MCP conventions put in `params._meta` (traceparent, tracestate). No
 * context: the span starts a trace.
 */
export function callerContext(headers: IncomingHttpHeaders, message?: JsonRpcMessage): Context {
  if (typeof headers.traceparent === 'string') return propagation.extract(ROOT_CONTEXT, headers);
  const meta = (message?.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  if (meta && typeof meta.traceparent === 'string') return propagation.extract(ROOT_CONTEXT, meta);
  return ROOT_CONTEXT;
}

/** Adds `traceparent` (and `tracestate`) for the active span to outgoing headers. */
export function injectContext(headers: Record<string, string>, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers);
}

export function startServerSpan(name: string, parent: Context, attributes: Attributes): Span {
  return mcpTracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/** Marks a span failed with error.type, as the conventions say. */
export function failSpan(span: Span, errorType: string, message?: string): void {
  span.setAttribute(ATTR.errorType, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** HTTP status and error status of a finished server exchange. */
export function endServerSpan(span: Span, status: number): void {
  span.setAttribute(ATTR.httpStatus, status);
  if (status >= 400) failSpan(span, String(status));
  span.end();
}

/** Runs `work` in an INTERNAL child span of the active one, ending it (error status on a throw). */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return mcpTracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, (error as Error).name || 'Error', (error as Error).message);
      throw error;
    } finally {
      span.end();
    }
  });
}

let active = false;

/** Whether a tracer provider was started in this process (hot paths skip span work otherwise). */
export function tracingActive(): boolean {
  return active;
}

export function setTracingActive(on: boolean): void {
  active = on;
}
