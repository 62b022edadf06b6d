import { createParser } from 'eventsource-parser';
import type { JsonRpcMessage } from './jsonrpc.js';

/**
 * Reads JSON-RPC messages from an MCP HTTP response body, whichever shape
 * the server chose: `application/json` (one message or a batch) or
 * `text/event-stream` (one message per `data:` event). Used where the
 * gateway talks MCP itself (re-homing, the tool catalogue), never on the
 * proxied hot path, which streams bytes through untouched.
 */
export async function readJsonRpcMessages(
  contentType: string | undefined,
  body: AsyncIterable<Uint8Array | string>,
  stopWhen?: (message: JsonRpcMessage) => boolean,
): Promise<JsonRpcMessage[]> {
  const messages: JsonRpcMessage[] = [];
  if (contentType?.includes('text/event-stream')) {
    let stop = false;
    const parser = createParser({
      onEvent(event) {
        if (stop || !event.data) return;
        try {
          const message = JSON.parse(event.data) as JsonRpcMessage;
          messages.push(message);
          if (stopWhen?.(message)) stop = true;
        } catch {
          // a non-JSON event (priming, comment): not a message
        }
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      if (stop) break;
    }
    return messages;
  }
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of body)
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  if (!text.trim()) return messages;
  const value = JSON.parse(text) as JsonRpcMessage | JsonRpcMessage[];
  return Array.isArray(value) ? value : [value];
}

/** One SSE `message` event carrying a JSON-RPC message. */
export function sseEvent(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}
