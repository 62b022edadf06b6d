import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens and resolves with the bound port (the real one when asked for 0).
 * `exclusive`: in a cluster worker, bind this process's own socket instead
 * of sharing one the cluster primary holds.
 */
export async function listen(
  server: Server,
  port: number,
  host: string,
  { exclusive = false }: { exclusive?: boolean } = {},
): Promise<number> {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The address a local client uses to reach a server bound to `host` (all interfaces → loopback). */
export function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}
