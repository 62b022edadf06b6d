import fs from 'node:fs';
import path from 'node:path';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createAdmission } from '../../src/cluster/admission-factory.js';
import type { ClusterConfig } from '../../src/config/cluster-config.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { scratchDir } from './cluster.js';
import { startTestGateway, TEST_SECRET, startTestWorkerHost } from './roles.js';

/** API keys every limits/auth test can use (file written by writeApiKeys). */
export const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' } as const;

export function writeApiKeys(format: 'json' | 'lines' = 'json'): string {
  const file = path.join(scratchDir('mcp-scale-keys-'), format === 'json' ? 'keys.json' : 'keys.txt');
  const text =
    format === 'json'
      ? JSON.stringify({ [KEYS.alice]: 'alice', [KEYS.bob]: 'bob' })
      : `# test keys\n${KEYS.alice} alice\n\n${KEYS.bob}   bob\n`;
  fs.writeFileSync(file, text);
  return file;
}

/** A config the way a config file or the flags would give it (same keys, same parsing). */
export function configWith(settings: Record<string, unknown>): ClusterConfig {
  return resolveClusterConfig({
    command: 'serve',
    configObject: { clusterSecret: TEST_SECRET, ...settings },
    env: {},
  });
}

/** An in-process worker host (real SDK server, demo shop) on a free port. */
export function startTestWorker(id: string, redisUrl: string, prefix: string): Promise<WorkerHost> {
  return startTestWorkerHost({
    id,
    redisUrl,
    prefix,
  });
}

/** A gateway whose authenticator and limiter come from createAdmission, as `mcp-scale gateway` builds them. */
export async function startLimitedGateway(options: {
  workers: WorkerHost[];
  redisUrl: string | undefined;
  prefix: string;
  settings: Record<string, unknown>;
}): Promise<Gateway> {
  const config = configWith({ ...options.settings, prefix: options.prefix });
  const admission = await createAdmission(config, options.redisUrl);
  return startTestGateway({
    workers: options.workers.map((w) => ({ id: w.id, url: w.url })),
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    trustProxy: config.auth.trustProxy,
    trustedProxies: config.auth.trustedProxies,
    authenticator: admission.authenticator,
    limiter: admission.limiter,
  });
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON (or the JSON-RPC messages of an SSE body); undefined when empty. */
  json: unknown;
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** A POST with full header control; SSE bodies are read as their JSON-RPC messages. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  if (text.includes('data:')) {
    const messages = text
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.slice(5).trim())
      .map((line) => JSON.parse(line.slice(5)) as unknown);
    json = messages.length === 1 ? messages[0] : messages;
  } else if (text.trim()) {
    json = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, json };
}

/** The per-request envelope 2026-07-28 requires. */
export const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** A 2026-era (stateless) tools/call: no session needed, any worker answers. */
export function modernCall(
  url: string,
  id: number,
  tool: string,
  args: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return post(
    url,
    {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: tool,
        arguments: args,
        _meta: MODERN_META,
      },
    },
    { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': tool, ...headers },
  );
}

/** Every POST an SDK client made: what kind of JSON-RPC message it carried and the HTTP status it got. */
export interface PostRecord {
  kind: 'request' | 'notification' | 'response';
  method?: string;
  status: number;
}

/** An SDK 1.x client whose every POST is recorded (to prove what was and was not limited). */
export async function connectRecordingV1(
  url: string,
  headers: Record<string, string>,
  posts: PostRecord[],
  onElicit?: () => void,
): Promise<V1Client> {
  const client = new V1Client(
    { name: 'limits-test', version: '1.0.0' },
    { capabilities: { elicitation: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => {
    onElicit?.();
    return { action: 'accept', content: { confirm: true } };
  });
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method === 'POST' && typeof init.body === 'string') {
      const message = JSON.parse(init.body) as { id?: unknown; method?: string };
      const kind =
        message.method === undefined ? 'response' : message.id === undefined ? 'notification' : 'request';
      posts.push({ kind, method: message.method, status: response.status });
    }
    return response;
  };
  const transport = new V1Transport(new URL(url), { requestInit: { headers }, fetch: recording });
  await client.connect(transport);
  return client;
}

/** Parses `"name";a=1;b=2, "other";a=3` (the RateLimit / RateLimit-Policy lists). */
export function parseLimitList(value: string | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, ...params] = item.split(';');
    const entry: Record<string, number> = {};
    for (const param of params) {
      const [k, v] = param.split('=');
      entry[k as string] = Number(v);
    }
    out[JSON.parse(name as string) as string] = entry;
  }
  return out;
}
