import type { IncomingMessage } from 'node:http';
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import {
  ATTR,
  callerContext,
  endServerSpan,
  failSpan,
  mcpAttributes,
  protocolVersionOf,
  startServerSpan,
  tracingActive,
} from '../telemetry/mcp-spans.js';
import type { LoadedServer } from './server-loader.js';

/**
 * The worker host's server span for one HTTP request (`tools/call get_product`
 * …), a child of the gateway's upstream span (its `traceparent`) or of a
 * direct client's. The hosted server runs inside its context, so spans the
 * server makes with @opentelemetry/api nest under it.
 */
export class WorkerRequestTrace {
  private constructor(
    readonly span: Span,
    readonly ctx: Context,
  ) {}

  static start(req: IncomingMessage, parsedBody: unknown, workerId: string): WorkerRequestTrace | undefined {
    if (!tracingActive()) return undefined;
    const messages = (
      parsedBody === undefined ? [] : Array.isArray(parsedBody) ? parsedBody : [parsedBody]
    ) as JsonRpcMessage[];
    const first = messages[0];
    const method = req.method ?? 'GET';
    const { name, attributes } =
      messages.length > 0
        ? mcpAttributes(messages)
        : { name: method === 'GET' ? 'GET stream' : `${method} session`, attributes: {} };
    const session = req.headers['mcp-session-id'];
    if (typeof session === 'string') attributes[ATTR.sessionId] = session;
    const version = protocolVersionOf(req.headers, first);
    if (version) attributes[ATTR.protocolVersion] = version;
    attributes[ATTR.worker] = workerId;
    attributes[ATTR.httpMethod] = method;
    const span = startServerSpan(name, callerContext(req.headers, first), attributes);
    return new WorkerRequestTrace(span, trace.setSpan(context.active(), span));
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    return context.with(this.ctx, work);
  }

  end(status: number, era: string): void {
    this.span.setAttribute(ATTR.era, era);
    endServerSpan(this.span, status);
  }
}

interface TappableTransport {
  onmessage?: (message: unknown, extra?: unknown) => void;
  send(message: unknown, options?: unknown): Promise<void>;
}

/**
 * JSON-RPC errors travel in a 200 response body the host never parses: this
 * tap (outermost, after the cache's) notes the active span of each request as
 * it arrives and marks it failed when the server answers it with an error
 * (error.type = the JSON-RPC code) or a tool result with isError
 * (error.type = tool_error), as the MCP conventions ask.
 */
export function withErrorTracing(loaded: LoadedServer): LoadedServer {
  return {
    ...loaded,
    create: async (ctx) => {
      const server = await loaded.create(ctx);
      const connect = server.connect.bind(server);
      server.connect = async (transport: unknown) => {
        await connect(transport);
        tapErrors(transport as TappableTransport);
      };
      return server;
    },
  };
}

function tapErrors(transport: TappableTransport): void {
  const deliver = transport.onmessage;
  const send = transport.send;
  if (!deliver) return;
  const spans = new Map<unknown, Span>();
  transport.onmessage = (raw, extra) => {
    const message = raw as JsonRpcMessage;
    const span = trace.getActiveSpan();
    if (span && message.id !== undefined && typeof message.method === 'string') spans.set(message.id, span);
    deliver.call(transport, raw, extra);
  };
  transport.send = (raw, options) => {
    const message = raw as JsonRpcMessage;
    if (message.id !== undefined && message.method === undefined) {
      const span = spans.get(message.id);
      spans.delete(message.id);
      if (span) {
        const error = message.error as { code?: unknown; message?: unknown } | undefined;
        if (error) {
          span.setAttribute(ATTR.rpcErrorCode, String(error.code));
          failSpan(span, String(error.code), typeof error.message === 'string' ? error.message : undefined);
        } else if ((message.result as { isError?: unknown } | undefined)?.isError === true) {
          failSpan(span, 'tool_error');
        }
      }
    }
    return send.call(transport, raw, options);
  };
}
