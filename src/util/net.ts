import net from 'node:net';

/** A free TCP port on the given host, found by binding port 0 and releasing it. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether a host names loopback: `localhost`, an IPv4 literal in 127.0.0.0/8,
 * `::1` or an IPv4-mapped loopback address. Compared exactly, never by
 * prefix: `127.0.0.1.rebind.attacker.example` is a DNS name an attacker
 * controls (the DNS-rebinding attack), not a loopback address.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && net.isIPv4(mapped[1] as string) && mapped[1]!.startsWith('127.');
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return isLoopbackHost(address);
}

/** `http://host:port`, with IPv6 hosts bracketed. */
export function httpUrl(host: string, port: number, path = ''): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}${path}`;
}
