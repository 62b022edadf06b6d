import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createConformanceServer from '../../examples/conformance-server.js';
import { resolveConformanceCli, type ConformanceCli } from '../../scripts/conformance/conformance-cli.js';
import { runConformanceMatrix } from '../../scripts/conformance/matrix.js';
import { TARGETS, type TargetSpec } from '../../scripts/conformance/targets.js';
import type { WorkerHost } from '../../src/worker/host.js';
import type { ServerFactory } from '../../src/worker/server-module.js';
import { startTestWorkerHost } from '../helpers/roles.js';

// Compile-time: the example still fits the worker host's server-module contract.
const asServerModule: ServerFactory = createConformanceServer;

const root = path.resolve(import.meta.dirname, '..', '..');

/** The tools, resources and prompts the suite's active scenarios call by name. */
const SUITE_TOOLS = [
  'test_simple_text',
  'test_image_content',
  'test_audio_content',
  'test_embedded_resource',
  'test_multiple_content_types',
  'test_tool_with_logging',
  'test_tool_with_progress',
  'test_error_handling',
  'test_sampling',
  'test_elicitation',
  'test_elicitation_sep1034_defaults',
  'test_elicitation_sep1330_enums',
];

describe('conformance server fixture on a worker host, reached with an SDK 1.x client', () => {
  let host: WorkerHost;
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new Client(
      { name: 'fixture-test', version: '1.0.0' },
      { capabilities: { sampling: {}, elicitation: {} } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(host.url)));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    // What target (a) runs, in process: one worker host, memory mode.
    host = await startTestWorkerHost({
      id: 'direct',
      serverFactory: asServerModule,
      prefix: 'conformance-test:',
      maxBodyBytes: 4 * 1024 * 1024,
      // Target (a): the suite talks to the worker itself.
      acceptUnsigned: true,
    });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await host?.close();
  });

  it('offers every tool, resource and prompt the suite calls', async () => {
    const client = await connect();
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(SUITE_TOOLS));
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(expect.arrayContaining(['test://static-text', 'test://static-binary']));
    const templated = await client.readResource({ uri: 'test://template/123/data' });
    const data = templated.contents[0];
    expect(data && 'text' in data ? JSON.parse(data.text) : undefined).toMatchObject({ id: '123' });
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(
      expect.arrayContaining(['test_simple_prompt', 'test_prompt_with_arguments', 'test_prompt_with_image']),
    );
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'par' },
    });
    expect(completion.completion.values).toEqual(['paris', 'park', 'party']);
  });

  it('asks the 2025 client for elicitation mid-call and returns its answer', async () => {
    const client = await connect();
    const asked: ElicitRequest['params'][] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { legacyEnum: 'opt2' } };
    });
    const result = await client.callTool({ name: 'test_elicitation_sep1330_enums', arguments: {} });
    expect(asked).toHaveLength(1);
    const schema = (asked[0] as { requestedSchema: { properties: Record<string, Record<string, unknown>> } })
      .requestedSchema;
    expect(schema.properties.legacyEnum?.enumNames).toEqual(['Option One', 'Option Two', 'Option Three']);
    expect(result.content).toEqual([
      { type: 'text', text: 'Elicitation completed: action=accept, content={"legacyEnum":"opt2"}' },
    ]);
  });

  it('asks the 2025 client for sampling mid-call and returns the completion', async () => {
    const client = await connect();
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
      role: 'assistant',
      model: 'echo',
      content: { type: 'text', text: `echo of ${JSON.stringify(request.params.messages[0]?.content)}` },
    }));
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
    expect(result.content).toEqual([
      { type: 'text', text: 'LLM response: echo of {"type":"text","text":"hi"}' },
    ]);
  });

  it('reports progress in order and logs while a tool runs', async () => {
    const client = await connect();
    const progress: number[] = [];
    await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([0, 50, 100]);
    const logs: unknown[] = [];
    client.setNotificationHandler(
      (await import('@modelcontextprotocol/sdk/types.js')).LoggingMessageNotificationSchema,
      (n) => void logs.push(n.params.data),
    );
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    expect(logs).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it('closes the test_reconnection stream mid-call and replays the result on Last-Event-ID', async () => {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    };
    const init = await fetch(host.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    const sessionId = init.headers.get('mcp-session-id') ?? '';
    expect(sessionId).toMatch(/^direct\./);
    await init.body?.cancel();
    const session = { ...headers, 'mcp-session-id': sessionId };
    await fetch(host.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    const call = await fetch(host.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'test_reconnection' },
      }),
    });
    const firstStream = sseEvents(await call.text());
    // Only the priming event (an id, empty data) before the server closed it.
    expect(firstStream).toEqual([{ id: expect.any(String), data: '' }]);
    const resumed = await fetch(host.url, {
      headers: { ...session, accept: 'text/event-stream', 'last-event-id': firstStream[0]?.id ?? '' },
    });
    const reader = resumed.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('Reconnection test completed')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    expect(JSON.parse(sseEvents(text)[0]?.data ?? '{}')).toMatchObject({
      id: 1,
      result: { content: [{ type: 'text' }] },
    });
  });

  it('refuses a foreign Host or Origin (DNS rebinding) and accepts localhost', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const post = async (headers: Record<string, string>) => {
      const { request } = await import('undici');
      const response = await request(host.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify(init),
      });
      await response.body.dump();
      return response.statusCode;
    };
    const local = new URL(host.url).host;
    expect(await post({ host: 'evil.example.com' })).toBe(403);
    expect(await post({ host: local, origin: 'http://evil.example.com' })).toBe(403);
    expect(await post({ host: local, origin: `http://${local}` })).toBe(200);
  });
});

/** `id:`/`data:` of each SSE event in a complete stream body. */
function sseEvents(body: string): { id?: string; data: string }[] {
  return body
    .split('\n\n')
    .filter((block) => /^(id|data):/m.test(block))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .filter((line) => line.startsWith(`${name}:`))
          .map((line) => line.slice(name.length + 1).trimStart());
      const id = field('id')[0];
      return { ...(id !== undefined ? { id } : {}), data: field('data').join('\n') };
    });
}

describe('official conformance suite (node 22 through npx)', () => {
  let cli: ConformanceCli | undefined;
  let unavailable = '';

  beforeAll(async () => {
    try {
      cli = await resolveConformanceCli({ timeoutMs: 150_000 });
    } catch (error) {
      unavailable = `conformance CLI unavailable: ${String(error)}`;
      console.warn(`SKIPPING the official suite: ${unavailable}`);
    }
  }, 160_000);

  it('passes the active suite on one worker and flags a target that differs from (a)', async ({ skip }) => {
    if (!cli) skip(unavailable);
    const serverModule = path.join(root, 'dist', 'examples', 'conformance-server.js');
    const cliEntry = path.join(root, 'dist', 'cli', 'main.js');
    expect(fs.existsSync(cliEntry) && fs.existsSync(serverModule), 'run `npm run build` first').toBe(true);
    const direct = TARGETS.find((t) => t.id === 'a') as TargetSpec;
    // A "(b)" that is (a) told to accept the suite's rebinding Host/Origin
    // (evil.example.com) as its own: the suite must see that, and only that.
    const unprotected: TargetSpec = {
      ...direct,
      id: 'b',
      label: 'worker accepting Host evil.example.com',
      argv: (paths) => [...direct.argv(paths), '--allowed-host', 'evil.example.com'],
    };
    const report = await runConformanceMatrix({
      root,
      serverModule,
      cli,
      specs: [direct, unprotected],
      outputDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-conformance-test-')),
    });
    const a = report.outcomes.find((o) => o.id === 'a');
    expect(a?.state).toBe('ran');
    expect(report.rows.length).toBeGreaterThanOrEqual(30);
    expect(report.direct).toEqual({ unexpected: [], stale: [] });
    expect(report.rows.filter((r) => r.cells.a !== 'pass')).toEqual([]);
    // The suite's requests reached the worker, and its own /metrics counted them.
    expect(a?.state === 'ran' && (a.load?.direct ?? 0) > report.rows.length).toBe(true);
    expect(report.differences.map((d) => [d.scenario, d.target, d.direct, d.other])).toEqual([
      ['dns-rebinding-protection', 'b', 'pass', 'fail'],
    ]);
    expect(report.ok).toBe(false);
    expect(fs.readFileSync(report.markdownFile, 'utf8')).toContain(
      '| dns-rebinding-protection | pass | fail |',
    );
  }, 120_000);
});
