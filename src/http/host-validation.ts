import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../util/net.js';

/**
 * DNS-rebinding protection (the MCP spec's security requirement for local
 * servers): when bound to a loopback address, only accept requests whose
 * Host names a loopback host (or one the operator allowed), and browser
 * requests whose Origin does too (or is an allowed CORS origin).
 */
export interface HostPolicy {
  enabled: boolean;
  allowedHosts: string[];
  allowedOrigins: string[];
}

export function hostPolicyFor(bindHost: string, allowedHosts: string[], corsOrigins: string[]): HostPolicy {
  return {
    enabled: isLoopbackHost(bindHost) || allowedHosts.length > 0,
    allowedHosts: allowedHosts.map((h) => h.toLowerCase()),
    allowedOrigins: corsOrigins,
  };
}

/**
 * The host part of a Host header, lower-cased, IPv6 literals bracketed.
 * A value that is not `host` or `host:port` (a path, userinfo, a second
 * colon) returns undefined and is refused.
 */
export function hostnameOf(hostHeader: string): string | undefined {
  const trimmed = hostHeader.trim().toLowerCase();
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]/@\s]+)(?::\d{1,5})?$/.exec(trimmed);
  if (!match) return undefined;
  // A trailing dot names the same host in DNS; compare without it.
  return (match[1] as string).replace(/\.$/, '');
}

/** Whether a hostname (from Host or Origin) is loopback or one the operator allowed. */
function hostAllowed(hostname: string, policy: HostPolicy): boolean {
  return isLoopbackHost(hostname) || policy.allowedHosts.includes(hostname);
}

/**
 * Returns why the request must be refused, or undefined when it may proceed.
 * `hostOptional`: for health probes and scrapers, which may send no Host at
 * all (HTTP/1.0 checks); a browser always sends one, so the rebinding
 * defence is intact.
 */
export function checkHostAndOrigin(
  req: IncomingMessage,
  policy: HostPolicy,
  hostOptional = false,
): string | undefined {
  if (!policy.enabled) return undefined;
  const host = req.headers.host;
  if (!host) return hostOptional && req.headers.origin === undefined ? undefined : 'Missing Host header';
  const hostname = hostnameOf(host);
  if (hostname === undefined || !hostAllowed(hostname, policy)) return `Invalid Host header: ${host}`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin)) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname.toLowerCase();
  } catch {
    return `Invalid Origin header: ${origin}`;
  }
  if (hostAllowed(originHost.replace(/\.$/, ''), policy)) return undefined;
  return `Invalid Origin header: ${origin}`;
}
