import type { IncomingMessage } from 'node:http';
import { identityClaim, type Identity } from '../cluster/identity.js';
import { GATEWAY_ONLY_HEADERS, HEADER, HOP_BY_HOP_HEADERS } from '../protocol/headers.js';
import type { ProxyTrust } from '../http/client-address.js';

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
  // Client-writable address claims: the worker gets X-Forwarded-For from us only.
  'x-real-ip',
  'forwarded',
  ...GATEWAY_ONLY_HEADERS,
]);

/** Credentials the gateway consumed when it authenticated the request. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key']);

/**
 * Headers for the worker: the client's own (minus hop-by-hop and forged
 * ones, and minus its credentials once the gateway verified them) plus the
 * identity claim, signed for the exact request when it is sent (upstream.ts).
 */
export function upstreamHeaders(
  req: IncomingMessage,
  identity: Identity,
  options: { proxyTrust: ProxyTrust | undefined; stripCredentials: boolean },
): Record<string, string> {
  const { proxyTrust } = options;
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (DROP_REQUEST_HEADERS.has(name) || name.startsWith('mcp-scale-')) continue;
    if (options.stripCredentials && CREDENTIAL_HEADERS.has(name)) continue;
    const value = raw[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  // The chain is kept only when a trusted proxy sent it (the worker may log it);
  // otherwise the peer's address replaces whatever the client wrote.
  const ip = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] =
    headers['x-forwarded-for'] && proxyTrust?.trusts(ip) ? `${headers['x-forwarded-for']}, ${ip}` : ip;
  headers[HEADER.identity] = identityClaim(identity);
  return headers;
}
