import cluster from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { ManagedChild } from './managed-child.js';

/**
 * Gateways forked through Node's `cluster` module share one port, so a
 * scrape of that port lands on any one of them. The gateway that takes it
 * asks the primary (the supervisor) over IPC; the primary gathers every
 * gateway's registry with prom-client's AggregatorRegistry (counters and
 * histograms summed, per-metric aggregators otherwise) and answers.
 */

const REQUEST = 'mcp-scale:cluster-metrics?';
const RESPONSE = 'mcp-scale:cluster-metrics';

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

/** Whether this process is a gateway forked by a supervisor's cluster (shares its port). */
export function isClusterGateway(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** In a cluster gateway: answer the primary's metric requests with this registry. */
export function joinMetricsAggregation(registry: Registry): void {
  // The constructor installs prom-client's worker-side listener.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

let nextId = 0;

/** In a cluster gateway: the metrics of every gateway of the cluster, aggregated by the primary. */
export function requestClusterMetrics(timeoutMs = 6000): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isResponse(message) || message.id !== id) return;
      finish();
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no aggregated metrics from the supervisor within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
  });
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;

/** In the supervisor (the cluster primary): answer a gateway's request for the aggregate. */
export function serveClusterMetrics(child: ManagedChild): void {
  aggregator ??= new AggregatorRegistry<PrometheusContentType>();
  const registry = aggregator;
  child.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    registry.clusterMetrics().then(
      (text) => child.send({ type: RESPONSE, id: message.id, text } satisfies MetricsResponse),
      (error: Error) =>
        child.send({ type: RESPONSE, id: message.id, error: error.message } satisfies MetricsResponse),
    );
  });
}

function isRequest(value: unknown): value is MetricsRequest {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === REQUEST;
}

function isResponse(value: unknown): value is MetricsResponse {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === RESPONSE;
}
