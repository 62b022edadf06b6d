import type { Server, ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How long a client may take to send its headers, and its whole request (body included). */
export interface RequestTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * A client trickling its headers or body (a byte every few seconds) holds a
 * connection and a request slot; past these it gets 408 and is closed. The
 * response is not bounded by them: SSE streams live as long as they like.
 */
export const DEFAULT_REQUEST_TIMEOUTS: RequestTimeouts = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
};

/** Options for http.createServer that enforce the timeouts (checked every second, not Node's 30 s). */
export function serverOptions(timeouts: RequestTimeouts = DEFAULT_REQUEST_TIMEOUTS): ServerOptions {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
    keepAliveTimeout: 65_000,
  };
}

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
