import { HEADER } from '../../protocol/headers.js';
import type { Era } from '../types.js';
import {
  MODERN_PROTOCOL_VERSION,
  type CallOptions,
  type EraConnection,
  type ToolResultLike,
} from './era-connection.js';
import { callRpc, listen, notify } from './lean-rpc.js';
import type { FetchLike } from './response-probe.js';

/**
 * `--client lean`: both eras spoken on the wire directly (lean-rpc.ts),
 * for a fraction of the SDK clients' CPU per call:
 *   - 2025: initialize, Mcp-Session-Id and MCP-Protocol-Version on every
 *     request, notifications/initialized, the standalone GET stream (as the
 *     SDK opens it), DELETE on close;
 *   - 2026: server/discover pinned to 2026-07-28, then stateless requests
 *     with the per-request `_meta` and the Mcp-Method / Mcp-Name headers.
 */
const CLIENT_INFO = { name: 'mcp-scale-bench', version: '1' };
const LEGACY_PROTOCOL_VERSION = '2025-11-25';

abstract class LeanConnection implements EraConnection {
  abstract readonly era: Era;
  protected readonly url: URL;
  protected readonly closer = new AbortController();
  protected nextId = 0;
  sessionId: string | undefined;
  protocolVersion: string | undefined;

  constructor(
    url: string,
    protected readonly fetchFn: FetchLike,
  ) {
    this.url = new URL(url);
  }

  abstract connect(options: CallOptions): Promise<void>;
  protected abstract request(
    method: string,
    params: Record<string, unknown>,
    options: CallOptions,
  ): Promise<unknown>;

  listTools(options: CallOptions): Promise<unknown> {
    return this.request('tools/list', {}, options);
  }

  async callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<ToolResultLike> {
    const params: Record<string, unknown> = { name: tool, arguments: args };
    if (options.onProgress) params._meta = { progressToken: this.nextId };
    return (await this.request('tools/call', params, options)) as ToolResultLike;
  }

  ping(options: CallOptions): Promise<unknown> {
    return this.request('ping', {}, options);
  }

  async close(terminate: boolean): Promise<void> {
    this.closer.abort(new Error('connection closed'));
    if (!terminate || !this.sessionId) return;
    const response = await this.fetchFn(this.url, { method: 'DELETE', headers: this.sessionHeaders() }).catch(
      () => undefined,
    );
    await response?.body?.cancel().catch(() => undefined);
  }

  protected sessionHeaders(): Record<string, string> {
    return {
      ...(this.sessionId ? { [HEADER.sessionId]: this.sessionId } : {}),
      ...(this.protocolVersion ? { [HEADER.protocolVersion]: this.protocolVersion } : {}),
    };
  }
}

class LeanLegacyConnection extends LeanConnection {
  readonly era = '2025' as const;

  async connect(options: CallOptions): Promise<void> {
    const { result, headers } = await callRpc({
      url: this.url,
      fetch: this.fetchFn,
      headers: {},
      body: {
        jsonrpc: '2.0',
        id: this.nextId++,
        method: 'initialize',
        params: { protocolVersion: LEGACY_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
      },
      options,
      resumable: false,
      closed: this.closer.signal,
    });
    this.sessionId = headers.get(HEADER.sessionId) ?? undefined;
    const version = (result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    this.protocolVersion = typeof version === 'string' ? version : LEGACY_PROTOCOL_VERSION;
    await notify(this.url, this.fetchFn, this.sessionHeaders(), {
      jsonrpc: '2.0',
      method: 'notifications/initialized',
    });
    if (this.sessionId) {
      // In the background, as the SDK does: the calls never wait for it.
      void listen({
        url: this.url,
        fetch: this.fetchFn,
        headers: this.sessionHeaders(),
        closed: this.closer.signal,
      }).catch(() => undefined);
    }
  }

  protected async request(
    method: string,
    params: Record<string, unknown>,
    options: CallOptions,
  ): Promise<unknown> {
    const { result } = await callRpc({
      url: this.url,
      fetch: this.fetchFn,
      headers: this.sessionHeaders(),
      body: { jsonrpc: '2.0', id: this.nextId++, method, params },
      options,
      resumable: this.sessionId !== undefined,
      closed: this.closer.signal,
    });
    return result;
  }
}

class LeanModernConnection extends LeanConnection {
  readonly era = '2026' as const;

  async connect(options: CallOptions): Promise<void> {
    const result = (await this.request('server/discover', {}, options)) as { supportedVersions?: unknown };
    const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions : [];
    if (!versions.includes(MODERN_PROTOCOL_VERSION)) {
      throw new Error(
        `the server does not support ${MODERN_PROTOCOL_VERSION} (it offers ${versions.join(', ') || 'none'})`,
      );
    }
    this.protocolVersion = MODERN_PROTOCOL_VERSION;
  }

  override ping(): Promise<unknown> {
    // As the v2 SDK refuses it: 2026-07-28 has no ping.
    return Promise.reject(
      new Error(
        `Method 'ping' is not supported by the negotiated protocol version (${MODERN_PROTOCOL_VERSION})`,
      ),
    );
  }

  protected async request(
    method: string,
    params: Record<string, unknown>,
    options: CallOptions,
  ): Promise<unknown> {
    const meta = {
      ...((params._meta as Record<string, unknown> | undefined) ?? {}),
      'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
      'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const name = method === 'tools/call' ? params.name : undefined;
    const { result } = await callRpc({
      url: this.url,
      fetch: this.fetchFn,
      headers: { [HEADER.protocolVersion]: MODERN_PROTOCOL_VERSION },
      requestHeaders: {
        [HEADER.mcpMethod]: method,
        ...(typeof name === 'string' ? { [HEADER.mcpName]: name } : {}),
      },
      body: { jsonrpc: '2.0', id: this.nextId++, method, params: { ...params, _meta: meta } },
      options,
      resumable: false,
      closed: this.closer.signal,
    });
    return result;
  }
}

export function createLeanConnection(era: Era, url: string, fetchFn: FetchLike): EraConnection {
  return era === '2025' ? new LeanLegacyConnection(url, fetchFn) : new LeanModernConnection(url, fetchFn);
}
