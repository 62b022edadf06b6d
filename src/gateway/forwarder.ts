import { context, SpanKind, trace } from '@opentelemetry/api';
import { ATTR, failSpan, injectContext, mcpTracer } from '../telemetry/mcp-spans.js';
import { ClientGoneError, type Exchange } from './exchange.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { relayResponse, type RelayOutcome } from './relay.js';
import { retryVerdict, type RetryVerdict } from './retry-policy.js';
import type { ToolCatalog } from './tool-catalog.js';
import type { UpstreamResponse } from './upstream-call.js';
import { startUpstream, type UpstreamError } from './upstream.js';
import type { WorkerPool, WorkerState } from './worker-pool.js';

export interface ForwarderOptions {
  maxInflight: number;
  upstreamTimeoutMs: number;
  /** SSE comment lines on quiet streams (see RelayOptions.heartbeatMs). */
  sseHeartbeatMs?: number;
}

/**
 * Sending an exchange to a worker and streaming the answer back, shared by
 * the stateless routes and the session routes: in-flight accounting, the
 * client-gone abort, retry safety, and deciding whether a failure means the
 * worker is down.
 */
export class Forwarder {
  constructor(
    private readonly pool: WorkerPool,
    private readonly catalog: ToolCatalog,
    private readonly metrics: GatewayMetrics,
    readonly options: ForwarderOptions,
  ) {}

  /**
   * Sends the exchange's request to a worker. Throws UpstreamError when the
   * worker fails, ClientGoneError when the client hung up first (never the
   * worker's fault).
   */
  async send(x: Exchange, worker: WorkerState, headers: Record<string, string>): Promise<UpstreamResponse> {
    const stream = x.req.method === 'GET';
    // The upstream exchange: a client span whose context the worker continues.
    const span = x.trace ? this.startUpstreamSpan(x, worker) : undefined;
    const sent = span ? { ...headers } : headers;
    if (span) injectContext(sent, trace.setSpan(context.active(), span));
    if (stream) worker.openStreams++;
    else worker.inflight++;
    const started = startUpstream(worker, {
      method: x.req.method as 'GET' | 'POST' | 'DELETE',
      headers: sent,
      body: x.body,
      stream,
      headersTimeoutMs: this.options.upstreamTimeoutMs,
    });
    const onClose = () => started.abort();
    x.res.once('close', onClose);
    const release = () => {
      if (stream) worker.openStreams--;
      else worker.inflight--;
      x.res.off('close', onClose);
      span?.end();
    };
    try {
      const upstream = await started.response;
      // The slot is held until the body is done, so the cap counts real work.
      upstream.body.onDone(release);
      span?.setAttribute(ATTR.httpStatus, upstream.statusCode);
      if (!stream) {
        this.metrics.duration.observe(
          { era: x.era, method: x.label },
          (performance.now() - x.started) / 1000,
        );
      }
      return upstream;
    } catch (error) {
      if (span) failSpan(span, (error as { failure?: string }).failure ?? 'error', (error as Error).message);
      release();
      if (started.aborted) throw new ClientGoneError('the client closed the connection');
      throw error;
    }
  }

  private startUpstreamSpan(x: Exchange, worker: WorkerState) {
    const url = new URL(worker.url);
    // The routing decision, on the route span and the server span alike.
    trace.getActiveSpan()?.setAttribute(ATTR.worker, worker.id);
    x.trace!.span?.setAttribute(ATTR.worker, worker.id);
    return mcpTracer().startSpan(`${x.req.method ?? 'POST'} ${worker.id}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR.httpMethod]: x.req.method ?? 'POST',
        [ATTR.serverAddress]: url.hostname,
        [ATTR.serverPort]: Number(url.port),
        [ATTR.worker]: worker.id,
        [ATTR.era]: x.era,
      },
    });
  }

  relay(
    x: Exchange,
    worker: WorkerState,
    upstream: UpstreamResponse,
    sessionId?: { from: string; to: string },
  ): Promise<RelayOutcome> {
    return relayResponse(upstream, x.res, {
      instance: worker.id,
      sessionId,
      extraHeaders: x.extra,
      flushHeaders: x.req.method === 'GET',
      heartbeatMs: this.options.sseHeartbeatMs,
    });
  }

  /** Whether the exchange may be sent again after it may have reached a worker that failed. */
  async safeToRetry(x: Exchange): Promise<RetryVerdict> {
    for (const message of x.classified?.requests ?? []) {
      if (message.method === 'tools/call') {
        await this.catalog.ensure(String((message.params as { name?: unknown } | undefined)?.name));
      }
    }
    return retryVerdict(x.classified?.messages ?? [], this.catalog);
  }

  /**
   * After a failed request: is the worker down? Refused connections say so;
   * a broken connection or a timeout may just be one bad socket or a slow
   * tool, so the worker is asked directly before it is taken out.
   */
  async isDown(worker: WorkerState, error: UpstreamError): Promise<boolean> {
    if (error.failure === 'unreachable' || !(await this.pool.probe(worker))) {
      this.pool.markDown(worker.id);
      return true;
    }
    return false;
  }

  /** The least-loaded healthy worker not tried yet for this exchange. */
  pickExcluding(tried: Set<string>): WorkerState | undefined {
    let worker = this.pool.pick(this.options.maxInflight);
    if (worker && tried.has(worker.id)) {
      worker = this.pool
        .list()
        .find((w) => w.healthy && !tried.has(w.id) && w.inflight < this.options.maxInflight);
    }
    return worker;
  }

  noWorkerMessage(afterFailures: boolean): string {
    return this.pool.healthyCount() > 0 && !afterFailures
      ? 'All workers are at their concurrency limit (--max-inflight)'
      : 'No healthy worker is available';
  }
}
