import { callUpstream, deleteUpstreamSession } from './upstream.js';
import type { WorkerPool } from './worker-pool.js';

export interface ToolHints {
  readOnlyHint?: boolean;
  idempotentHint?: boolean;
}

/**
 * Tool annotations, learnt by talking MCP to a worker like any client would
 * (initialize, tools/list, DELETE), so it works for servers in any language.
 * The gateway needs them to decide whether an interrupted tools/call may be
 * retried.
 */
export class ToolCatalog {
  private tools = new Map<string, ToolHints>();
  private fetchedAt = 0;
  private inflight?: Promise<void>;

  constructor(
    private readonly pool: WorkerPool,
    private readonly identity: () => Record<string, string>,
    private readonly maxAgeMs = 60_000,
  ) {}

  get(name: string): ToolHints | undefined {
    return this.tools.get(name);
  }

  get size(): number {
    return this.tools.size;
  }

  /** Refreshes when stale or when a tool is unknown; never throws. */
  async ensure(toolName?: string): Promise<void> {
    const stale = Date.now() - this.fetchedAt > this.maxAgeMs;
    if (!stale && (toolName === undefined || this.tools.has(toolName))) return;
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    await this.inflight;
  }

  private async fetch(): Promise<void> {
    const worker = this.pool.pick(Number.MAX_SAFE_INTEGER);
    if (!worker) return;
    try {
      const init = await callUpstream(
        worker,
        {
          jsonrpc: '2.0',
          id: 'mcp-scale:catalog:init',
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'mcp-scale-gateway', version: '1' },
          },
        },
        this.identity(),
      );
      const result = init.response?.result as { protocolVersion?: string } | undefined;
      const session: Record<string, string> = { ...this.identity() };
      if (init.sessionId) session['mcp-session-id'] = init.sessionId;
      if (result?.protocolVersion) session['mcp-protocol-version'] = result.protocolVersion;
      await callUpstream(worker, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
      const tools = new Map<string, ToolHints>();
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const list = await callUpstream(
          worker,
          {
            jsonrpc: '2.0',
            id: `mcp-scale:catalog:list:${page}`,
            method: 'tools/list',
            params: cursor ? { cursor } : {},
          },
          session,
        );
        const listed = list.response?.result as
          { tools?: { name: string; annotations?: ToolHints }[]; nextCursor?: string } | undefined;
        for (const tool of listed?.tools ?? []) tools.set(tool.name, tool.annotations ?? {});
        cursor = listed?.nextCursor;
        if (!cursor) break;
      }
      if (init.sessionId) await deleteUpstreamSession(worker, session, 5000);
      this.tools = tools;
      this.fetchedAt = Date.now();
    } catch {
      // Try again on the next ensure(): an unknown tool is simply not retried.
    }
  }
}
