import { createParser } from 'eventsource-parser';
import { HEADER } from '../../protocol/headers.js';
import type { CallOptions } from './era-connection.js';
import type { FetchLike } from './response-probe.js';

/**
 * The lean client's wire: one JSON-RPC request POSTed, its answer read from
 * `application/json` or from an SSE stream (eventsource-parser), with what
 * arrives before the answer handled as a real client does: progress
 * notifications counted, server-to-client requests answered (ping with {},
 * anything else "method not found", as a client without those capabilities
 * does), and a stream that breaks before the answer resumed with a GET
 * carrying `Last-Event-ID`. No per-message schema validation: the bench
 * needs the id, the result or error, and the progress events.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** The SDKs' timeout error: code -32001, "Request timed out" (classify-error.ts reads both). */
export function timeoutError(ms: number): RpcError {
  return new RpcError(-32001, `Request timed out after ${ms} ms`);
}

interface RpcMessage {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: { progressToken?: unknown } & Record<string, unknown>;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

export interface RpcCall {
  url: URL;
  fetch: FetchLike;
  /** Headers for every request of the session (session id, protocol version, extra). */
  headers: Record<string, string>;
  body: { jsonrpc: '2.0'; id: string | number; method: string; params?: unknown };
  options: CallOptions;
  /** Headers only this request carries (2026: Mcp-Method, Mcp-Name). */
  requestHeaders?: Record<string, string>;
  /** 2025: resume a broken stream with GET + Last-Event-ID (needs the session). */
  resumable: boolean;
  /** Aborted when the connection closes (the bench's hard stop). */
  closed: AbortSignal;
}

export interface RpcAnswer {
  result: unknown;
  headers: Headers;
}

const MAX_RESUMES = 3;

/** Sends one request and resolves with its result; rejects with RpcError, a timeout or an HTTP failure. */
export async function callRpc(call: RpcCall): Promise<RpcAnswer> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(timeoutError(call.options.timeoutMs));
    }, call.options.timeoutMs);
  };
  arm();
  // One listener per request, removed after it (AbortSignal.any would keep a reference per request).
  const onClose = (): void => controller.abort(call.closed.reason);
  if (call.closed.aborted) onClose();
  else call.closed.addEventListener('abort', onClose, { once: true });
  const onProgress = (): void => {
    call.options.onProgress?.();
    arm(); // as resetTimeoutOnProgress does in the SDKs
  };
  try {
    const response = await call.fetch(call.url, {
      method: 'POST',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        ...call.headers,
        ...call.requestHeaders,
      },
      body: JSON.stringify(call.body),
      signal: controller.signal,
    });
    if (!response.ok) throw await httpError(response);
    const type = response.headers.get('content-type') ?? '';
    if (type.includes('text/event-stream')) {
      const result = await readStream(call, response, onProgress, controller.signal);
      return { result, headers: response.headers };
    }
    const message = (await response.json()) as RpcMessage | RpcMessage[];
    const answer = (Array.isArray(message) ? message : [message]).find((m) => m.id === call.body.id);
    if (!answer) throw new Error(`no response to request ${String(call.body.id)} in the JSON body`);
    return { result: unwrap(answer), headers: response.headers };
  } catch (error) {
    if (timedOut) throw timeoutError(call.options.timeoutMs);
    throw error;
  } finally {
    if (timer) clearTimeout(timer);
    call.closed.removeEventListener('abort', onClose);
  }
}

/** Sends a notification (or a response to the server); resolves once the server accepted it. */
export async function notify(
  url: URL,
  fetchFn: FetchLike,
  headers: Record<string, string>,
  message: unknown,
): Promise<void> {
  const response = await fetchFn(url, {
    method: 'POST',
    headers: {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify(message),
  });
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status} on a notification`);
}

async function readStream(
  call: RpcCall,
  first: Response,
  onProgress: () => void,
  signal: AbortSignal,
): Promise<unknown> {
  let lastEventId: string | undefined;
  let answer: { value: unknown } | undefined;
  let failure: unknown;
  const parser = createParser({
    onEvent(event) {
      if (event.id) lastEventId = event.id;
      if (!event.data || answer || failure) return;
      let message: RpcMessage;
      try {
        message = JSON.parse(event.data) as RpcMessage;
      } catch {
        return; // a priming or keep-alive event
      }
      if (message.id === call.body.id && (message.result !== undefined || message.error !== undefined)) {
        try {
          answer = { value: unwrap(message) };
        } catch (error) {
          failure = error;
        }
      } else if (message.method === 'notifications/progress') {
        onProgress();
      } else if (message.method && message.id !== undefined && message.id !== null) {
        void answerServerRequest(call, message);
      }
    },
  });
  let response = first;
  for (let resumes = 0; ; resumes++) {
    await feed(response, parser.feed.bind(parser), () => answer !== undefined || failure !== undefined);
    if (failure) throw failure;
    if (answer) return answer.value;
    // The stream ended before the answer: resume where it broke, as the spec's resumability allows.
    if (!call.resumable || lastEventId === undefined || resumes >= MAX_RESUMES)
      throw new Error(`the SSE stream ended before the response to request ${String(call.body.id)}`);
    parser.reset({ consume: false });
    response = await call.fetch(call.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', ...call.headers, [HEADER.lastEventId]: lastEventId },
      signal,
    });
    if (!response.ok) throw await httpError(response);
  }
}

async function feed(response: Response, push: (text: string) => void, done: () => boolean): Promise<void> {
  const body = response.body;
  if (!body) return;
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) return;
      push(decoder.decode(value, { stream: true }));
      if (done()) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * The 2025 standalone stream (GET), as the SDK client opens it after
 * `notifications/initialized`: server-initiated requests are answered,
 * notifications read. A server without one (405) or a closed connection
 * ends it quietly; it never holds up the calls.
 */
export async function listen(call: Pick<RpcCall, 'url' | 'fetch' | 'headers' | 'closed'>): Promise<void> {
  const response = await call.fetch(call.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', ...call.headers },
    signal: call.closed,
  });
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const parser = createParser({
    onEvent(event) {
      if (!event.data) return;
      try {
        const message = JSON.parse(event.data) as RpcMessage;
        if (message.method && message.id !== undefined && message.id !== null)
          void answerServerRequest(call, message);
      } catch {
        // not a JSON-RPC message
      }
    },
  });
  await feed(response, parser.feed.bind(parser), () => call.closed.aborted);
}

/** A client without sampling, elicitation or roots: ping answered, the rest "method not found". */
async function answerServerRequest(
  call: Pick<RpcCall, 'url' | 'fetch' | 'headers'>,
  request: RpcMessage,
): Promise<void> {
  const reply =
    request.method === 'ping'
      ? { jsonrpc: '2.0', id: request.id, result: {} }
      : {
          jsonrpc: '2.0',
          id: request.id,
          error: { code: -32601, message: `Method not found: ${request.method}` },
        };
  await notify(call.url, call.fetch, call.headers, reply).catch(() => undefined);
}

function unwrap(message: RpcMessage): unknown {
  if (message.error) {
    const code = typeof message.error.code === 'number' ? message.error.code : -32603;
    const text = typeof message.error.message === 'string' ? message.error.message : 'error';
    throw new RpcError(code, `MCP error ${code}: ${text}`, message.error.data);
  }
  return message.result;
}

async function httpError(response: Response): Promise<Error> {
  const text = await response.text().catch(() => '');
  let code: number | undefined;
  let message = text.slice(0, 200);
  try {
    const body = JSON.parse(text) as RpcMessage;
    if (typeof body.error?.code === 'number') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: the status says enough
  }
  const error = new Error(`HTTP ${response.status}: ${message}`) as Error & { code?: number; status: number };
  error.status = response.status;
  if (code !== undefined) error.code = code;
  return error;
}
