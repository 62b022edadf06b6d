import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A port that is free now, for a listener that binds it a little later
 * (a child process, a restartable role that must come back on the same
 * port). Chosen below the kernel's ephemeral range when there is room:
 * port 0 would hand out a port from that range, which every outgoing
 * connection on the machine may take as its source port before the
 * listener binds it (EADDRINUSE, seen as flaky starts). Ports handed out
 * by this process are not handed out again for a while.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const [low] = ephemeralPortRange();
  if (low - LOWEST_PICKED_PORT >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST_PICKED_PORT + Math.floor(Math.random() * (low - LOWEST_PICKED_PORT));
      if (recentlyGiven.has(port)) continue;
      if (await canBind(port, host)) return remember(port);
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindAny(host);
    if (!recentlyGiven.has(port)) return remember(port);
  }
  throw new Error(`no free port found on ${host}`);
}

/** Below this, ports are left to services that expect them (databases, dev servers). */
const LOWEST_PICKED_PORT = 10_000;
/** How many handed-out ports are remembered (and so not handed out again). */
const REMEMBERED_PORTS = 4096;
const recentlyGiven = new Set<number>();

function remember(port: number): number {
  recentlyGiven.add(port);
  if (recentlyGiven.size > REMEMBERED_PORTS) recentlyGiven.delete(recentlyGiven.values().next().value!);
  return port;
}

/** The kernel's range for source ports and port 0 (Linux; the usual default elsewhere). */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux: fall through
  }
  return [49152, 65535];
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function bindAny(host: string): Promise<number> {
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
