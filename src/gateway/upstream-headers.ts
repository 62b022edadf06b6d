import type { IncomingMessage } from 'node:http';
import type { IdentitySigner } from '../cluster/identity.js';
import { GATEWAY_ONLY_HEADERS, HEADER, HOP_BY_HOP_HEADERS } from '../protocol/headers.js';
import { headerValue } from './exchange.js';

/**
 * Request headers that describe one hop, that only the gateway may set, or
 * that the gateway has already enforced (Origin: the gateway's own
 * DNS-rebinding and CORS policy decided; a worker bound to loopback would
 * otherwise refuse a browser origin the operator allowed).
 */
const DROP_REQUEST_HEADERS = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'origin',
  'content-length',
  ...GATEWAY_ONLY_HEADERS,
]);

/** The client's address: the first X-Forwarded-For hop only behind a proxy you trust. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const first = headerValue(req.headers['x-forwarded-for'])?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Headers for the worker: the client's own (minus hop-by-hop and forged ones) plus the signed identity. */
export function upstreamHeaders(
  req: IncomingMessage,
  user: string | undefined,
  signer: IdentitySigner,
  trustProxy: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (DROP_REQUEST_HEADERS.has(name) || name.startsWith('mcp-scale-')) continue;
    const value = raw[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const ip = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] =
    headers['x-forwarded-for'] && trustProxy ? `${headers['x-forwarded-for']}, ${ip}` : ip;
  headers[HEADER.identity] = signer.sign({ user });
  return headers;
}
