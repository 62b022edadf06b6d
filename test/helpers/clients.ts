import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { signedIdentity } from './roles.js';

export interface ConnectOptions {
  /** Extra request headers (auth, forwarded-for). */
  headers?: Record<string, string>;
  /** Answer to elicitation requests; default accepts with confirm=true. */
  elicit?: () => {
    action: 'accept' | 'decline' | 'cancel';
    content?: Record<string, string | number | boolean | string[]>;
  };
  /** Records every response's Mcp-Scale-Instance header. */
  instances?: string[];
  /**
   * Talk to a worker directly as a gateway would: every request carries the
   * identity of this user (null: anonymous), signed for that request.
   */
  signAs?: string | null;
}

function recordingFetch(instances: string[] | undefined, signAs?: string | null): typeof fetch {
  return async (input, init) => {
    if (signAs !== undefined) {
      const headers = new Headers(init?.headers);
      const signed = signedIdentity(signAs ?? undefined, {
        method: init?.method ?? 'GET',
        sessionId: headers.get('mcp-session-id') ?? undefined,
        body: typeof init?.body === 'string' ? init.body : undefined,
      });
      for (const [name, value] of Object.entries(signed)) headers.set(name, value);
      init = { ...init, headers };
    }
    const response = await fetch(input, init);
    const instance = response.headers.get('mcp-scale-instance');
    if (instances && instance) instances.push(instance);
    return response;
  };
}

/** An SDK 1.x client (2025-era, sessionful) connected over Streamable HTTP. */
export async function connectV1(url: string, options: ConnectOptions = {}): Promise<V1Client> {
  const client = new V1Client(
    { name: 'mcp-scale-test-v1', version: '1.0.0' },
    { capabilities: { elicitation: {} } },
  );
  client.setRequestHandler(
    ElicitRequestSchema,
    async () => options.elicit?.() ?? { action: 'accept', content: { confirm: true } },
  );
  const transport = new V1Transport(new URL(url), {
    requestInit: { headers: options.headers ?? {} },
    fetch: recordingFetch(options.instances, options.signAs),
  });
  await client.connect(transport);
  return client;
}

/** A v2 client pinned to the 2026-07-28 (stateless) protocol. */
export async function connectV2(url: string, options: ConnectOptions = {}): Promise<V2Client> {
  const client = new V2Client(
    { name: 'mcp-scale-test-v2', version: '1.0.0' },
    { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  client.setRequestHandler(
    'elicitation/create',
    async () => options.elicit?.() ?? { action: 'accept', content: { confirm: true } },
  );
  const transport = new V2Transport(new URL(url), {
    requestInit: { headers: options.headers ?? {} },
    fetch: recordingFetch(options.instances, options.signAs),
  });
  await client.connect(transport);
  return client;
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((block) => block.text ?? '').join('');
}

export function jsonOf<T = Record<string, unknown>>(result: unknown): T {
  return JSON.parse(textOf(result)) as T;
}
