import os from 'node:os';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setTracingActive } from './mcp-spans.js';
import type { TracingConfig } from './tracing-config.js';

export type TracedRole = 'gateway' | 'worker';

export interface Tracing {
  /** Flushes spans still batched and stops exporting. Safe twice. */
  close(): Promise<void>;
}

const NOTHING: Tracing = { close: async () => {} };

/**
 * Starts the process-wide tracer provider of one role: an OTLP/HTTP exporter
 * (JSON or protobuf) behind a batch processor, the sampler from
 * OTEL_TRACES_SAMPLER/_ARG (the SDK reads them), W3C trace context as the
 * propagator and AsyncLocalStorage as the context manager, so a hosted
 * server's own spans (made with @opentelemetry/api) nest under the worker's.
 * The resource: service.name mcp-scale-<role> unless OTEL_SERVICE_NAME says
 * otherwise, service.instance.id naming this process, plus
 * OTEL_RESOURCE_ATTRIBUTES. Library code only uses @opentelemetry/api; with
 * no provider started every span is a no-op.
 */
export function startTracing(config: TracingConfig | undefined, role: TracedRole, id: string): Tracing {
  if (!config) return NOTHING;
  // Export failures (collector down) are worth one line, not a stack per batch.
  diag.setLogger(
    {
      error: (message) => console.error(`[tracing] ${message}`),
      warn: () => {},
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.ERROR,
  );
  const exporter =
    config.protocol === 'http/json'
      ? new JsonExporter({ url: config.tracesUrl })
      : new ProtobufExporter({ url: config.tracesUrl });
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': `mcp-scale-${role}`,
        'service.instance.id': `${role}-${id}@${os.hostname()}:${process.pid}`,
        'process.pid': process.pid,
        'mcp_scale.role': role,
        ...(role === 'worker' ? { 'mcp_scale.worker.id': id } : {}),
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  setTracingActive(true);
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= provider
        .shutdown()
        .catch(() => {})
        .finally(() => setTracingActive(false));
      return closing;
    },
  };
}
