import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { UpstreamResponse } from '../gateway/upstream-call.js';
import { PROTOCOL_VERSION_META_KEY } from '../protocol/classify.js';
import { responseHeaders } from '../gateway/relay.js';
import { RPC, sendRpcError, type JsonRpcId } from '../protocol/jsonrpc.js';
import { canonicalJson } from './cache-key.js';

/**
 * The 2026-07-28 revision lets a server say how long a result stays good and
 * who may share it (`ttlMs`, `cacheScope` on list results, `resources/read`
 * and `server/discover`; never on `tools/call`). The gateway honours those
 * hints for 2026-era requests: `public` results are shared by every caller,
 * `private` ones (the default) are kept per authenticated user, or not at
 * all for anonymous callers. Entries live in the gateway's memory (each
 * gateway has its own), bounded in number; a hit is answered without a
 * worker, with `ttlMs` lowered to what is left of it and the
 * `Mcp-Scale-Cache: hit` header.
 */
export const HINTED_METHODS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
]);

export const CACHE_HEADER = 'mcp-scale-cache';

/** What the gateway knows about one request (a structural slice of the router's exchange). */
export interface HintExchange {
  era: 'legacy' | 'modern';
  user?: string;
  classified?: { batch: boolean; messages: { id?: unknown; method?: unknown; params?: unknown }[] };
  res: ServerResponse;
  /** Response headers the gateway adds (CORS, rate limits). */
  extra: Record<string, string>;
}

interface HintedRequest {
  id: JsonRpcId;
  /** Key parts shared by both scopes: method, protocol revision, parameters without `_meta`. */
  identity: string;
}

interface Remembered {
  result: Record<string, unknown>;
  expiresAt: number;
}

export class GatewayHintCache {
  private readonly entries = new Map<string, Remembered>();

  constructor(private readonly maxEntries = 1000) {}

  get size(): number {
    return this.entries.size;
  }

  /** Answers from a remembered result when there is a fresh one; true when it did. */
  answer(x: HintExchange): boolean {
    const request = hintedRequest(x);
    if (!request) return false;
    const now = Date.now();
    for (const key of candidateKeys(request, x.user)) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        continue;
      }
      const result = { ...entry.result, ttlMs: entry.expiresAt - now };
      const body = JSON.stringify({ jsonrpc: '2.0', id: request.id, result });
      x.res.writeHead(200, {
        ...x.extra,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        [CACHE_HEADER]: 'hit',
      });
      x.res.end(body);
      return true;
    }
    return false;
  }

  /**
   * For a hinted 2026 request answered with plain JSON: reads the answer,
   * remembers it if its hints allow, and relays it. Returns false without
   * touching the response when the request or answer is not of that kind
   * (SSE answers are never buffered), so the caller relays as usual.
   */
  async relay(x: HintExchange, instance: string, upstream: UpstreamResponse): Promise<boolean> {
    const request = hintedRequest(x);
    if (!request || upstream.statusCode !== 200 || !isPlainJson(upstream.headers)) return false;
    let body: Buffer;
    try {
      body = await upstream.body.readAll();
    } catch {
      sendRpcError(x.res, 502, request.id, RPC.unavailable, `Worker ${instance} stopped while answering`);
      return true;
    }
    this.remember(request, x.user, body);
    const headers = responseHeaders(upstream.headers, { instance, extraHeaders: x.extra });
    headers['content-length'] = String(body.length);
    headers[CACHE_HEADER] = 'miss';
    x.res.writeHead(200, headers);
    x.res.end(body);
    return true;
  }

  private remember(request: HintedRequest, user: string | undefined, body: Buffer): void {
    let message: { id?: unknown; result?: { ttlMs?: unknown; cacheScope?: unknown } };
    try {
      message = JSON.parse(body.toString('utf8')) as typeof message;
    } catch {
      return;
    }
    const result = message.result;
    if (!result || typeof result !== 'object' || message.id !== request.id) return;
    const ttlMs = result.ttlMs;
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) return;
    const scope = result.cacheScope === 'public' ? 'public' : 'private';
    if (scope === 'private' && user === undefined) return;
    const key = entryKeyFor(request, scope === 'public' ? undefined : user);
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { result: result, expiresAt: Date.now() + ttlMs });
  }
}

function hintedRequest(x: HintExchange): HintedRequest | undefined {
  if (x.era !== 'modern' || !x.classified || x.classified.batch) return undefined;
  const message = x.classified.messages[0];
  if (!message || typeof message.method !== 'string' || !HINTED_METHODS.has(message.method)) return undefined;
  if (typeof message.id !== 'string' && typeof message.id !== 'number') return undefined;
  const params = (message.params ?? {}) as { _meta?: Record<string, unknown> } & Record<string, unknown>;
  const { _meta: meta, ...rest } = params;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  return {
    id: message.id,
    identity: canonicalJson([message.method, typeof version === 'string' ? version : null, rest]),
  };
}

function entryKeyFor(request: HintedRequest, user: string | undefined): string {
  return JSON.stringify([user === undefined ? 'public' : 'private', user ?? null, request.identity]);
}

function candidateKeys(request: HintedRequest, user: string | undefined): string[] {
  const keys = [entryKeyFor(request, undefined)];
  if (user !== undefined) keys.push(entryKeyFor(request, user));
  return keys;
}

function isPlainJson(headers: IncomingHttpHeaders | Record<string, unknown>): boolean {
  // A header value: a string, a string[] (joined by String) or absent.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(headers['content-type'] ?? '').includes('application/json');
}
