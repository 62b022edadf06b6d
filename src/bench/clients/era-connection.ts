import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import type { Era } from '../types.js';
import { createLeanConnection } from './lean-connection.js';
import type { FetchLike } from './response-probe.js';

/**
 * One virtual user's MCP connection, as a real client of its era makes it:
 *   - 2025: `@modelcontextprotocol/sdk` 1.x Client over StreamableHTTPClientTransport
 *     (initialize, Mcp-Session-Id on every request, the optional GET stream);
 *   - 2026: the v2 `@modelcontextprotocol/client` Client pinned to 2026-07-28
 *     (server/discover, then stateless POSTs).
 * Both take the probe's fetch so the bench can read response headers.
 */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

export interface CallOptions {
  timeoutMs: number;
  onProgress?: () => void;
}

export interface ToolResultLike {
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

export interface EraConnection {
  readonly era: Era;
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
  connect(options: CallOptions): Promise<void>;
  listTools(options: CallOptions): Promise<unknown>;
  callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<ToolResultLike>;
  ping(options: CallOptions): Promise<unknown>;
  /** Ends the session on the server (DELETE, 2025 only) and closes the client. */
  close(terminate: boolean): Promise<void>;
}

const CLIENT_INFO = { name: 'mcp-scale-bench', version: '1' };

const requestOptions = (options: CallOptions) => ({
  timeout: options.timeoutMs,
  ...(options.onProgress ? { onprogress: options.onProgress, resetTimeoutOnProgress: true } : {}),
});

class LegacyConnection implements EraConnection {
  readonly era = '2025' as const;
  private readonly client = new LegacyClient(CLIENT_INFO);
  private readonly transport: LegacyTransport;

  constructor(url: URL, fetchFn: FetchLike) {
    this.transport = new LegacyTransport(url, { fetch: fetchFn });
  }

  get sessionId(): string | undefined {
    return this.transport.sessionId;
  }

  get protocolVersion(): string | undefined {
    return this.transport.protocolVersion;
  }

  async connect(options: CallOptions): Promise<void> {
    await this.client.connect(this.transport, requestOptions(options));
  }

  listTools(options: CallOptions): Promise<unknown> {
    return this.client.listTools(undefined, requestOptions(options));
  }

  async callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<ToolResultLike> {
    return (await this.client.callTool(
      { name: tool, arguments: args },
      undefined,
      requestOptions(options),
    )) as ToolResultLike;
  }

  ping(options: CallOptions): Promise<unknown> {
    return this.client.ping(requestOptions(options));
  }

  async close(terminate: boolean): Promise<void> {
    if (terminate && this.transport.sessionId) await this.transport.terminateSession().catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }
}

class ModernConnection implements EraConnection {
  readonly era = '2026' as const;
  private readonly client = new ModernClient(CLIENT_INFO, {
    versionNegotiation: { mode: { pin: MODERN_PROTOCOL_VERSION } },
  });
  private readonly transport: ModernTransport;

  constructor(url: URL, fetchFn: FetchLike) {
    this.transport = new ModernTransport(url, { fetch: fetchFn });
  }

  readonly sessionId = undefined;

  get protocolVersion(): string | undefined {
    return this.client.getNegotiatedProtocolVersion();
  }

  async connect(options: CallOptions): Promise<void> {
    await this.client.connect(this.transport, { timeout: options.timeoutMs });
    const version = this.client.getNegotiatedProtocolVersion();
    if (version !== MODERN_PROTOCOL_VERSION) {
      throw new Error(
        `negotiated protocol version ${version ?? 'none'}, expected ${MODERN_PROTOCOL_VERSION}`,
      );
    }
  }

  listTools(options: CallOptions): Promise<unknown> {
    // Bypass the client's response cache: every iteration must reach the server.
    return this.client.listTools(undefined, { ...requestOptions(options), cacheMode: 'bypass' });
  }

  async callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<ToolResultLike> {
    return (await this.client.callTool(
      { name: tool, arguments: args },
      requestOptions(options),
    )) as ToolResultLike;
  }

  ping(options: CallOptions): Promise<unknown> {
    return this.client.ping(requestOptions(options));
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

/** Which client a virtual user runs: the SDKs (default) or the lean wire client (lean-connection.ts). */
export type ClientKind = 'sdk' | 'lean';

export function createEraConnection(
  era: Era,
  url: string,
  fetchFn: FetchLike,
  client: ClientKind = 'sdk',
): EraConnection {
  if (client === 'lean') return createLeanConnection(era, url, fetchFn);
  const target = new URL(url);
  return era === '2025' ? new LegacyConnection(target, fetchFn) : new ModernConnection(target, fetchFn);
}
