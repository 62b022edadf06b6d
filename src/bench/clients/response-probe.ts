import { HEADER } from '../../protocol/headers.js';

/**
 * A `fetch` handed to the SDK transports so the bench sees what the SDK
 * clients hide: the HTTP status, which worker answered (`Mcp-Scale-Instance`),
 * rate-limit headers and the JSON-RPC error code inside an error body.
 *
 * A virtual user sends one request at a time, so "the last POST that carried
 * a JSON-RPC request" is the one the current call is waiting for; GETs (the
 * 2025 notification stream), DELETEs and notification POSTs are ignored.
 */
export interface ProbedResponse {
  status: number;
  instance?: string;
  sessionId?: string;
  retryAfterMs?: number;
  rateLimitHeaders?: Record<string, string>;
  rpcCode?: number;
  rpcMessage?: string;
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

const RATE_LIMIT_HEADERS = [
  'ratelimit-policy',
  'ratelimit',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
] as const;

export class ResponseProbe {
  /** The response to the last JSON-RPC request POSTed. */
  last: ProbedResponse | undefined;
  /**
   * The last failed POST of any kind since reset(): a notification the SDK
   * sends inside a call (notifications/initialized during connect) can be
   * what made the call fail.
   */
  lastFailure: ProbedResponse | undefined;

  constructor(
    private readonly extraHeaders: Record<string, string> = {},
    private readonly baseFetch: FetchLike = fetch,
  ) {}

  readonly fetch: FetchLike = async (url, init) => {
    const request = withHeaders(init, this.extraHeaders);
    const response = await this.baseFetch(url, request);
    if (request?.method !== 'POST') return response;
    if (carriesRequest(request.body)) {
      this.last = await describe(response);
      if (this.last.status >= 400) this.lastFailure = this.last;
    } else if (response.status >= 400) {
      this.lastFailure = await describe(response);
    }
    return response;
  };

  /** Forget the previous responses before a new call. */
  reset(): void {
    this.last = undefined;
    this.lastFailure = undefined;
  }
}

function withHeaders(init: RequestInit | undefined, extra: Record<string, string>): RequestInit | undefined {
  if (Object.keys(extra).length === 0) return init;
  const headers = new Headers(init?.headers);
  for (const [name, value] of Object.entries(extra)) if (!headers.has(name)) headers.set(name, value);
  return { ...init, headers };
}

/** A JSON-RPC request has an id; a notification or a response-to-server does not carry a method with an id. */
function carriesRequest(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const message = JSON.parse(body) as unknown;
    const one: unknown = Array.isArray(message) ? message[0] : message;
    return typeof one === 'object' && one !== null && 'method' in one && 'id' in one;
  } catch {
    return false;
  }
}

async function describe(response: Response): Promise<ProbedResponse> {
  const headers = response.headers;
  const probed: ProbedResponse = { status: response.status };
  const instance = headers.get(HEADER.instance);
  if (instance) probed.instance = instance;
  const sessionId = headers.get(HEADER.sessionId);
  if (sessionId) probed.sessionId = sessionId;
  const limitHeaders: Record<string, string> = {};
  for (const name of RATE_LIMIT_HEADERS) {
    const value = headers.get(name);
    if (value !== null) limitHeaders[name] = value;
  }
  if (Object.keys(limitHeaders).length > 0) probed.rateLimitHeaders = limitHeaders;
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const ms = parseRetryAfter(retryAfter);
    if (ms !== undefined) probed.retryAfterMs = ms;
  }
  if (response.status >= 400 && (headers.get('content-type') ?? '').includes('json')) {
    // Read a copy: the SDK reads the original to build its own error.
    try {
      const body = (await response.clone().json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'number') probed.rpcCode = body.error.code;
      if (typeof body.error?.message === 'string') probed.rpcMessage = body.error.message;
    } catch {
      // not JSON after all: the status says enough
    }
  }
  return probed;
}

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string, now = Date.now()): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
