/**
 * What the hosted server says about its tools (`readOnlyHint`), learnt the
 * way any client learns it: from `tools/list`. Once at start from a probe
 * instance over an in-process transport (so it works for servers of either
 * SDK line), then from every `tools/list` answer seen on the wire, so tools
 * that appear later (enabled at run time) are known too.
 */
export class ToolAnnotations {
  private readonly readOnly = new Map<string, boolean>();

  readOnlyHint(tool: string): boolean | undefined {
    return this.readOnly.get(tool);
  }

  get size(): number {
    return this.readOnly.size;
  }

  /** Records the tools of one `tools/list` result page. */
  observeList(result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools as { name?: unknown; annotations?: { readOnlyHint?: unknown } }[]) {
      if (typeof tool?.name !== 'string') continue;
      this.readOnly.set(tool.name, tool.annotations?.readOnlyHint === true);
    }
  }

  /**
   * Lists the tools of a fresh server instance, talking 2025-era JSON-RPC
   * to it over an in-process transport. Never throws: a server that cannot
   * be probed simply has no read-only tools until a client lists them.
   */
  async probe(server: ProbeableServer, timeoutMs = 5000): Promise<void> {
    const transport = new ProbeTransport(timeoutMs);
    try {
      await server.connect(transport);
      const init = await transport.request('initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'mcp-scale-cache-probe', version: '1' },
      });
      if (!('result' in init)) return;
      transport.notify('notifications/initialized');
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const listed = await transport.request('tools/list', cursor ? { cursor } : {});
        if (!('result' in listed)) return;
        this.observeList(listed.result);
        cursor = (listed.result as { nextCursor?: string }).nextCursor;
        if (!cursor) return;
      }
    } catch {
      // Unprobeable: learn from the wire instead.
    } finally {
      await server.close().catch(() => {});
    }
  }
}

export interface ProbeableServer {
  connect(transport: unknown): Promise<void>;
  close(): Promise<void>;
}

interface RpcReply {
  id: number;
  result?: unknown;
  error?: unknown;
}

/** The Transport shape both SDK lines' servers connect to, held in memory. */
class ProbeTransport {
  onmessage?: (message: unknown, extra?: unknown) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: RpcReply) => void>();

  constructor(private readonly timeoutMs: number) {}

  async start(): Promise<void> {}

  async send(message: unknown): Promise<void> {
    const reply = message as Partial<RpcReply>;
    if (typeof reply.id === 'number' && ('result' in reply || 'error' in reply)) {
      this.waiting.get(reply.id)?.(reply as RpcReply);
    }
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  request(method: string, params: unknown): Promise<RpcReply> {
    const id = this.nextId++;
    return new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`probe: no answer to ${method}`));
      }, this.timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(reply);
      });
      this.onmessage?.({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string): void {
    this.onmessage?.({ jsonrpc: '2.0', method });
  }
}
