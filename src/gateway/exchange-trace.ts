import type { IncomingMessage } from 'node:http';
import { SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { HEADER } from '../protocol/headers.js';
import {
  ATTR,
  callerContext,
  endServerSpan,
  failSpan,
  mcpAttributes,
  mcpTracer,
  protocolVersionOf,
  tracingActive,
} from '../telemetry/mcp-spans.js';
import type { ClassifiedPost, Era } from '../protocol/classify.js';

/**
 * The spans of one request through the gateway. The server span's parent may
 * be in the body (`params._meta.traceparent`), which is read only after
 * authentication, so the server span and its `auth` child are started once
 * the body is known, with the times they really began.
 */
export class ExchangeTrace {
  span?: Span;
  ctx?: Context;
  private readonly startTime = epochNow();
  private auth?: { start: number; end: number; ok: boolean };

  constructor(private readonly req: IncomingMessage) {}

  /** undefined when no tracer provider runs: the hot path then does no span work at all. */
  static start(req: IncomingMessage): ExchangeTrace | undefined {
    return tracingActive() ? new ExchangeTrace(req) : undefined;
  }

  static now(): number {
    return epochNow();
  }

  authDone(start: number, ok: boolean): void {
    this.auth = { start, end: epochNow(), ok };
  }

  /** Starts the server span (once) from what is known: headers, and the parsed body if any. */
  begin(era: Era, classified?: ClassifiedPost): Context {
    if (this.ctx) return this.ctx;
    const first = classified?.messages[0];
    const parent = callerContext(this.req.headers, first);
    const method = this.req.method ?? 'GET';
    const { name, attributes } = classified
      ? mcpAttributes(classified.messages)
      : { name: method === 'GET' ? 'GET stream' : `${method} session`, attributes: {} };
    const session = this.req.headers[HEADER.sessionId];
    if (typeof session === 'string') attributes[ATTR.sessionId] = session;
    const version = protocolVersionOf(this.req.headers, first);
    if (version) attributes[ATTR.protocolVersion] = version;
    attributes[ATTR.era] = era;
    attributes[ATTR.httpMethod] = method;
    this.span = mcpTracer().startSpan(
      name,
      { kind: SpanKind.SERVER, attributes, startTime: this.startTime },
      parent,
    );
    this.ctx = trace.setSpan(parent, this.span);
    if (this.auth) {
      const auth = mcpTracer().startSpan('auth', { startTime: this.auth.start }, this.ctx);
      if (!this.auth.ok) failSpan(auth, 'unauthorized');
      auth.end(this.auth.end);
    }
    return this.ctx;
  }

  /** Ends the server span with the response's status; safe when the request never got that far. */
  end(era: Era, status: number, classified?: ClassifiedPost): void {
    this.begin(era, classified);
    endServerSpan(this.span!, status);
  }
}

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
