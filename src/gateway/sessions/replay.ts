import type { SessionRecord } from './session-record.js';
import { SpanKind, trace } from '@opentelemetry/api';
import { ATTR, inSpan, injectContext } from '../../telemetry/mcp-spans.js';
import { callUpstream } from '../upstream.js';
import type { WorkerState } from '../worker-pool.js';

export class ReplayError extends Error {}

/**
 * Re-creates an equivalent upstream session on `worker` using only public
 * protocol behaviour: the client's own initialize request, then
 * notifications/initialized, then the state-setting calls the client made
 * (logging/setLevel, resources/subscribe). Returns the new upstream session id.
 */
export async function replaySession(
  worker: WorkerState,
  record: SessionRecord,
  identityHeaders: Record<string, string>,
  timeoutMs: number,
): Promise<string> {
  let params: unknown;
  try {
    params = JSON.parse(record.initParams);
  } catch {
    throw new ReplayError('the stored initialize parameters are corrupt');
  }
  const init = await replayCall(
    worker,
    { jsonrpc: '2.0', id: 'mcp-scale:rehome:init', method: 'initialize', params },
    identityHeaders,
    timeoutMs,
  );
  if (init.status !== 200 || !init.sessionId || !init.response || init.response.error) {
    throw new ReplayError(
      `worker ${worker.id} refused the replayed initialize (HTTP ${init.status}${
        init.response?.error ? `: ${JSON.stringify(init.response.error)}` : ''
      })`,
    );
  }
  const protocolVersion = (init.response.result as { protocolVersion?: string } | undefined)?.protocolVersion;
  const headers: Record<string, string> = { ...identityHeaders, 'mcp-session-id': init.sessionId };
  if (protocolVersion) headers['mcp-protocol-version'] = protocolVersion;

  await replayCall(worker, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers, timeoutMs);
  const replays: { method: string; params: Record<string, unknown> }[] = [];
  if (record.logLevel) replays.push({ method: 'logging/setLevel', params: { level: record.logLevel } });
  for (const uri of record.subscriptions) replays.push({ method: 'resources/subscribe', params: { uri } });
  await Promise.all(
    replays.map(async ({ method, params: callParams }, index) => {
      const reply = await replayCall(
        worker,
        { jsonrpc: '2.0', id: `mcp-scale:rehome:${index}`, method, params: callParams },
        headers,
        timeoutMs,
      );
      if (reply.response?.error) {
        // The new home refuses a state call the old one accepted: the session
        // still moves, but say so in the log rather than failing the client.
        console.warn(
          `[gateway] re-home of a session: ${method} refused by ${worker.id}: ${JSON.stringify(reply.response.error)}`,
        );
      }
    }),
  );
  trace.getActiveSpan()?.setAttribute('mcp_scale.rehome.replayed_calls', 2 + replays.length);
  return init.sessionId;
}

/** One replayed message, as its own client span (the worker's span continues it). */
function replayCall(
  worker: WorkerState,
  message: { jsonrpc: '2.0'; id?: string; method: string; params?: unknown },
  headers: Record<string, string>,
  timeoutMs: number,
): ReturnType<typeof callUpstream> {
  return inSpan(
    `replay ${message.method}`,
    { [ATTR.method]: message.method, [ATTR.worker]: worker.id },
    async (span) => {
      const traced = { ...headers };
      injectContext(traced);
      const reply = await callUpstream(worker, message, traced, timeoutMs);
      span.setAttribute(ATTR.httpStatus, reply.status);
      return reply;
    },
    SpanKind.CLIENT,
  );
}
