import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { isRequest } from '../protocol/jsonrpc.js';
import type { ToolCatalog } from './tool-catalog.js';

/** Methods that change nothing a second delivery could double. */
const SAFE_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'server/discover',
]);

export interface RetryVerdict {
  safe: boolean;
  /** Why not, in words a client developer understands. */
  reason?: string;
}

/**
 * Whether a request that may already have reached a worker that then died
 * can be sent again elsewhere: only idempotent methods, and tools annotated
 * readOnlyHint or idempotentHint.
 */
export function retryVerdict(messages: JsonRpcMessage[], catalog: ToolCatalog): RetryVerdict {
  for (const message of messages) {
    if (!isRequest(message)) continue;
    const method = String(message.method);
    if (SAFE_METHODS.has(method)) continue;
    if (method === 'tools/call') {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const tool = typeof name === 'string' ? catalog.get(name) : undefined;
      if (tool?.readOnlyHint || tool?.idempotentHint) continue;
      return {
        safe: false,
        reason: tool
          ? `tool '${String(name)}' is not annotated readOnlyHint or idempotentHint`
          : `tool '${String(name)}' has no annotations the gateway knows`,
      };
    }
    return { safe: false, reason: `method '${method}' is not idempotent` };
  }
  return { safe: true };
}
