/**
 * The contract for a user's server module, loaded by `mcp-scale worker
 * --server ./module.js` (and `serve --server`).
 *
 * The module's default export (or a named export `createServer`) is a
 * factory returning an `McpServer` of either SDK line:
 *   - `@modelcontextprotocol/sdk` 1.x: served to 2025-era clients (sessionful);
 *     2026-era requests are answered as that SDK answers them directly.
 *   - `@modelcontextprotocol/server` 2.x: served to both eras (2025 sessionful,
 *     2026-07-28 stateless).
 *
 * The factory is called once per 2025 session and once per 2026 request, so
 * it must be cheap and keep shared state outside the returned server.
 *
 *   export default function createServer(ctx: ServerFactoryContext) {
 *     const server = new McpServer({ name: 'shop', version: '1.0.0' });
 *     server.registerTool(...);
 *     return server;
 *   }
 */
export interface ServerFactoryContext {
  /** This worker's id (w1, w2, … under `serve`). */
  workerId: string;
  /** 'legacy' for a 2025-era session, 'modern' for one 2026-07-28 request. */
  era: 'legacy' | 'modern';
  /** The caller, from the gateway's signed identity; undefined when anonymous. */
  user?: string;
  /**
   * HMAC codec keyed by the cluster secret for 2026 multi-round-trip
   * `requestState`, shared by every worker so round two may land anywhere.
   * Pass `requestState.verify` into the v2 McpServer's options.
   */
  requestState: {
    mint(payload: unknown, ctx?: unknown): Promise<string>;
    verify(state: string, ctx: unknown): Promise<unknown>;
  };
  /** Cluster-wide pub/sub (Redis, or the supervisor's relay in memory mode). */
  bus: ClusterBusLike;
}

export interface ClusterBusLike {
  publish(topic: string, message: unknown): void;
  subscribe(topic: string, listener: (message: unknown) => void): () => void;
}

export type ServerFactory = (ctx: ServerFactoryContext) => unknown;
