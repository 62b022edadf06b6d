import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { FetchLike } from './response-probe.js';

/**
 * The HTTP engine under the SDK transports during a bench: a `fetch` built
 * on undici's `request` (the same wire bytes, a fraction of the CPU of the
 * WHATWG fetch), so the load generator is not the bottleneck it measures.
 * JSON bodies are read whole; SSE bodies stream through as they arrive.
 * One keep-alive pool per run, closed with it.
 */
export interface BenchHttpClient {
  fetch: FetchLike;
  close(): Promise<void>;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export function createBenchHttpClient(): BenchHttpClient {
  const agent = new Agent({ keepAliveTimeout: 30_000, pipelining: 1 });
  const fetchFn: FetchLike = async (input, init) => {
    const response = await request(typeof input === 'string' ? input : input.toString(), {
      dispatcher: agent,
      method: (init?.method ?? 'GET') as 'GET',
      headers: headerRecord(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
      signal: init?.signal ?? undefined,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else if (value !== undefined) headers.set(name, value);
    }
    const status = response.statusCode;
    if (NULL_BODY_STATUSES.has(status) || init?.method === 'HEAD') {
      await response.body.dump();
      return new Response(null, { status, headers });
    }
    if ((headers.get('content-type') ?? '').includes('text/event-stream')) {
      return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, { status, headers });
    }
    return new Response(await response.body.text(), { status, headers });
  };
  let closed = false;
  return {
    fetch: fetchFn,
    close: async () => {
      if (closed) return;
      closed = true;
      await agent.destroy().catch(() => undefined);
    },
  };
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  if (!headers) return record;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => (record[name] = value));
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers)
      if (name !== undefined && value !== undefined) record[name.toLowerCase()] = value;
  } else {
    for (const [name, value] of Object.entries(headers)) record[name.toLowerCase()] = value;
  }
  return record;
}
