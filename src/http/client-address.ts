import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../errors.js';

/**
 * Which peers may tell us the client's address (X-Forwarded-For), and the
 * rule that reads it: nginx's `real_ip_recursive on`. Walk the header from
 * the right (the hop nearest us) and skip every trusted proxy; the first
 * address that is not one is the client. Entries left of it were written by
 * whoever the client was, so they never count. X-Real-IP and Forwarded are
 * not read: the generated proxies overwrite them, other proxies may not.
 */

/** `--trust-proxy` alone: loopback and the private ranges a proxy, pod or container network uses. */
export const PRIVATE_RANGES: readonly string[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  // Shared address space: carrier NAT, and the pod ranges of some Kubernetes networks.
  '100.64.0.0/10',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

export class ProxyTrust {
  private readonly list = new net.BlockList();

  /** `cidrs`: addresses or CIDR ranges, IPv4 or IPv6. Throws UserError naming a bad entry. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) addRange(this.list, cidr);
  }

  trusts(address: string | undefined): boolean {
    const parsed = normalize(address);
    return parsed !== undefined && this.list.check(parsed.address, parsed.family);
  }

  /** The client's address for limits and lockouts: never a value a client can choose. */
  clientAddress(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? 'unknown';
    if (!this.trusts(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((hop) => hop.trim())
      .filter(Boolean);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]);
      // Garbage (or a port, an obfuscated name) stops the walk: keep the last real hop.
      if (!hop) break;
      client = hop.address;
      if (!this.trusts(hop.address)) break;
    }
    return client;
  }
}

/**
 * `--trust-proxy` / `--trusted-proxies`: the trust a gateway applies, or
 * undefined (the socket's peer is the client). A list narrows the default ranges.
 */
export function proxyTrustFor(
  trustProxy: boolean,
  trustedProxies?: readonly string[],
): ProxyTrust | undefined {
  if (trustedProxies && trustedProxies.length > 0) return new ProxyTrust(trustedProxies);
  return trustProxy ? new ProxyTrust(PRIVATE_RANGES) : undefined;
}

/** The client address with or without a trusted proxy in front. */
export function clientAddressOf(req: IncomingMessage, trust: ProxyTrust | undefined): string {
  return trust ? trust.clientAddress(req) : (req.socket.remoteAddress ?? 'unknown');
}

/** Checks `--trusted-proxies` entries (config validation), throwing UserError on the first bad one. */
export function validateTrustedProxies(cidrs: readonly string[]): void {
  new ProxyTrust(cidrs);
}

function addRange(list: net.BlockList, cidr: string): void {
  const [address = '', prefixText, extra] = cidr.trim().split('/');
  const parsed = normalize(address);
  const bits = parsed?.family === 'ipv6' ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!parsed || extra !== undefined || !/^\d{1,3}$/.test(String(prefix)) || prefix > bits) {
    throw new UserError(`--trusted-proxies: '${cidr}' is not an IP address or CIDR range (e.g. 10.0.0.0/8)`);
  }
  list.addSubnet(parsed.address, prefix, parsed.family);
}

/** An IP address as BlockList wants it; IPv4-mapped IPv6 (::ffff:10.0.0.1) becomes IPv4. */
function normalize(address: string | undefined): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  if (!address) return undefined;
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1] as string;
  const family = net.isIP(a);
  if (family === 4) return { address: a, family: 'ipv4' };
  if (family === 6) return { address: a, family: 'ipv6' };
  return undefined;
}
