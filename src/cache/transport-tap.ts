import { ATTR, inSpan } from '../telemetry/mcp-spans.js';
import type { HostedMcpServer, LoadedServer } from '../worker/server-loader.js';
import type { ServerFactoryContext } from '../worker/server-module.js';
import { withCacheMarker } from './cache-entry.js';
import type { CallPlan, ToolResultCache } from './tool-result-cache.js';

/**
 * The seam: the Transport a server is connected to. Both SDK lines' servers
 * call `connect(transport)` and then only use `transport.send()` and the
 * `onmessage`/`onclose` callbacks they installed, and every transport
 * (2025 Streamable HTTP of either line, v2's per-request 2026 transport)
 * calls `this.onmessage` for what arrives. So once `connect` has returned,
 * replacing `onmessage` and `send` on that same transport instance lets the
 * cache answer a `tools/call` itself (hit: `send()` of the stored result
 * under the new request id; the server never sees it) or watch the server's
 * answer go out (miss: store it). The transport object is not wrapped, so
 * anything the SDK reads from it (v2 checks `instanceof` to learn a
 * per-request transport's classification) still sees the real one.
 */
interface TappableTransport {
  onmessage?: (message: unknown, extra?: unknown) => void;
  onclose?: () => void;
  send(message: unknown, options?: unknown): Promise<void>;
}

interface RpcMessage {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

type Fetching = Extract<CallPlan, { kind: 'fetch' }>;

/** Every server the LoadedServer creates gets its transports tapped by the cache. */
export function withToolCache(loaded: LoadedServer, cache: ToolResultCache): LoadedServer {
  return {
    ...loaded,
    create: async (ctx: ServerFactoryContext): Promise<HostedMcpServer> => {
      const server = await loaded.create(ctx);
      const connect = server.connect.bind(server);
      server.connect = async (transport: unknown) => {
        await connect(transport);
        tapTransport(transport as TappableTransport, cache, ctx.user, ctx.era);
      };
      return server;
    },
  };
}

export function tapTransport(
  transport: TappableTransport,
  cache: ToolResultCache,
  user: string | undefined,
  era: 'legacy' | 'modern',
): void {
  const deliver = transport.onmessage;
  const send = transport.send;
  const previousOnClose = transport.onclose;
  if (!deliver) return;
  const fetching = new Map<string | number, Fetching>();
  const listing = new Set<string | number>();

  const answerCall = async (
    message: RpcMessage,
    extra: unknown,
    tool: string,
    params: Record<string, unknown>,
  ) => {
    let plan: CallPlan;
    try {
      const args = isRecord(params.arguments) ? params.arguments : {};
      // Runs in the worker's request span: the lookup (and any single-flight wait) nests under it.
      plan = await inSpan('cache lookup', { [ATTR.toolName]: tool }, async (span) => {
        const planned = await cache.plan({ tool, args, user, era });
        span.setAttribute(ATTR.cacheOutcome, planned.outcome);
        return planned;
      });
    } catch {
      return deliver.call(transport, message, extra);
    }
    if (plan.kind === 'hit') {
      const reply = { jsonrpc: '2.0', id: message.id, result: withCacheMarker(plan.result, 'hit') };
      await send.call(transport, reply).catch(() => {});
      return;
    }
    fetching.set(message.id!, plan);
    deliver.call(transport, message, extra);
  };

  transport.onmessage = (raw, extra) => {
    const message = raw as RpcMessage;
    if (message.id !== undefined && message.method === 'tools/call') {
      const params = isRecord(message.params) ? message.params : {};
      const tool = params.name;
      // Calls the cache has no business with are delivered synchronously, exactly as before.
      if (typeof tool === 'string' && cache.wants(tool, params)) {
        void answerCall(message, extra, tool, params);
        return;
      }
    } else if (message.id !== undefined && message.method === 'tools/list') {
      listing.add(message.id);
    } else if (message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: string | number } | undefined)?.requestId;
      if (id !== undefined) {
        fetching.get(id)?.abandon();
        fetching.delete(id);
      }
    }
    deliver.call(transport, raw, extra);
  };

  transport.send = (raw, options) => {
    const message = raw as RpcMessage;
    if (message.id !== undefined && message.method === undefined) {
      const plan = fetching.get(message.id);
      if (plan) {
        fetching.delete(message.id);
        if ('result' in message) {
          plan.finish(message.result);
          return send.call(
            transport,
            { ...message, result: withCacheMarker(message.result, 'miss') },
            options,
          );
        }
        plan.finish(undefined);
      } else if (listing.delete(message.id) && 'result' in message) {
        cache.annotations.observeList(message.result);
      }
    }
    return send.call(transport, raw, options);
  };

  transport.onclose = () => {
    for (const plan of fetching.values()) plan.abandon();
    fetching.clear();
    previousOnClose?.call(transport);
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
