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

export function hostnameOf(hostHeader: string): string {
  const trimmed = hostHeader.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(0, trimmed.indexOf(']') + 1);
  return trimmed.replace(/:\d+$/, '');
}

/** Returns why the request must be refused, or undefined when it may proceed. */
export function checkHostAndOrigin(req: IncomingMessage, policy: HostPolicy): string | undefined {
  if (!policy.enabled) return undefined;
  const host = req.headers.host;
  if (!host) return 'Missing Host header';
  const hostname = hostnameOf(host);
  if (!isLoopbackHost(hostname) && !policy.allowedHosts.includes(hostname))
    return `Invalid Host header: ${host}`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin)) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname.toLowerCase();
  } catch {
    return `Invalid Origin header: ${origin}`;
  }
  if (isLoopbackHost(originHost) || policy.allowedHosts.includes(originHost)) return undefined;
  return `Invalid Origin header: ${origin}`;
}
