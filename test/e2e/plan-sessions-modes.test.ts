import path from 'node:path';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectV1, connectV2, jsonOf, textOf } from '../helpers/clients.js';
import { startServe, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * What a 2025-era client loses in `serve --sessions stateless`, shown with
 * the same checks in both modes (docs/sessions-modes.md): server-to-client
 * requests (elicitation, sampling), the GET notification stream and stream
 * resumption work with sessions and are refused without them. Streaming on
 * a request's own response (progress) works in both.
 */

const CONFORMANCE_SERVER = path.resolve(import.meta.dirname, '../../dist/examples/conformance-server.js');
const PROTOCOL = '2025-11-25';
const JSON_AND_SSE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const NO_SERVER_TO_CLIENT = /per-request legacy serving cannot receive server-to-client requests/;

/** A raw 2025 handshake; returns the headers later requests carry (with the session id, if any). */
async function rawInitialize(url: string): Promise<Record<string, string>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: JSON_AND_SSE,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await response.text();
  expect(response.status).toBe(200);
  const session = response.headers.get('mcp-session-id');
  const headers: Record<string, string> = { 'mcp-protocol-version': PROTOCOL };
  if (session) headers['mcp-session-id'] = session;
  const initialized = await fetch(url, {
    method: 'POST',
    headers: { ...JSON_AND_SSE, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  return headers;
}

/** Reads an SSE body until `done(text so far)` holds; cancels the body afterwards. */
async function readSse(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!done(text)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/**
 * GET with Last-Event-ID. Until the worker has noticed the cut (the gateway passes the
 * client's hang-up on), the SDK answers 409 (the stream still has a connection); a real
 * client reconnects after a delay (1 s by default in SDK 1.x). Retried until it is not 409.
 */
async function resumeStream(url: string, headers: Record<string, string>, lastEventId: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers, 'last-event-id': lastEventId },
    });
    if (response.status !== 409 || Date.now() > deadline) return response;
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const eventCount = (text: string) => text.split('\n\n').filter((event) => event.includes('data:')).length;

describe.each(['stateful', 'stateless'] as const)('serve --sessions %s: a 2025 client', (mode) => {
  const stateful = mode === 'stateful';
  let shop: TestCluster;
  let conformance: TestCluster;
  beforeAll(async () => {
    [shop, conformance] = await Promise.all([
      startServe(['--instances', '2', '--redis', 'memory', '--backend-latency', '0', '--sessions', mode]),
      startServe([
        '--instances',
        '1',
        '--redis',
        'memory',
        '--server',
        CONFORMANCE_SERVER,
        '--sessions',
        mode,
      ]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([shop?.stop(), conformance?.stop()]);
  });

  it(stateful ? 'gets a session' : 'gets no session', async () => {
    const client = await connectV1(shop.url);
    expect(client.transport?.sessionId === undefined).toBe(!stateful);
    await client.close();
  });

  it(`elicitation (confirm_order) ${stateful ? 'reaches the client' : 'is refused'}`, async () => {
    let asked = 0;
    const client = await connectV1(shop.url, {
      elicit: () => {
        asked++;
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const result = await client.callTool({ name: 'confirm_order', arguments: { id: 'p00003' } });
    if (stateful) {
      expect(asked).toBe(1);
      expect(jsonOf(result).ordered).toBe(true);
    } else {
      expect(asked).toBe(0);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(NO_SERVER_TO_CLIENT);
    }
    await client.close();
  });

  it(`sampling (test_sampling) ${stateful ? 'reaches the client' : 'is refused'}`, async () => {
    let sampled = 0;
    const client = new V1Client({ name: 'sampler', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      sampled++;
      return { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'test' };
    });
    await client.connect(new V1Transport(new URL(conformance.url)));
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hello' } });
    if (stateful) {
      expect(sampled).toBe(1);
      expect(textOf(result)).toBe('LLM response: hi');
    } else {
      expect(sampled).toBe(0);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(NO_SERVER_TO_CLIENT);
    }
    await client.close();
  });

  it(`the GET notification stream is ${stateful ? 'open' : 'refused (405)'}`, async () => {
    const headers = await rawInitialize(shop.url);
    const response = await fetch(shop.url, { headers: { accept: 'text/event-stream', ...headers } });
    if (stateful) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await response.body?.cancel();
    } else {
      expect(response.status).toBe(405);
      expect(await response.text()).toMatch(/Method not allowed/);
    }
  });

  it(`resources/updated and tools/list_changed ${stateful ? 'arrive' : 'never reach it'}`, async () => {
    const getStatuses: number[] = [];
    const client = new V1Client({ name: 'subscriber', version: '1.0.0' });
    let updates = 0;
    let listChanged = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => {
      updates++;
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged++;
    });
    await client.connect(
      new V1Transport(new URL(shop.url), {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if ((init?.method ?? 'GET') === 'GET') getStatuses.push(response.status);
          return response;
        },
      }),
    );
    // The subscription itself is accepted in both modes.
    await client.subscribeResource({ uri: 'inventory://p00004' });
    // In stateless mode a 2026 client on the same cluster is told: the events are produced.
    const listener = stateful ? undefined : await connectV2(shop.url);
    let modernUpdates = 0;
    let modernListChanged = 0;
    listener?.setNotificationHandler('notifications/resources/updated', () => {
      modernUpdates++;
    });
    listener?.setNotificationHandler('notifications/tools/list_changed', () => {
      modernListChanged++;
    });
    const subscription = await listener?.listen({
      resourceSubscriptions: ['inventory://p00004'],
      toolsListChanged: true,
    });
    const writer = await connectV1(shop.url);
    await writer.callTool({ name: 'update_inventory', arguments: { id: 'p00004', delta: 1 } });
    await writer.callTool({ name: 'toggle_beta_tool', arguments: { enabled: true } });
    if (stateful) {
      await waitUntil(() => updates > 0 && listChanged > 0, 'the 2025 session notified');
      expect(getStatuses).toContain(200);
    } else {
      await waitUntil(() => modernUpdates > 0 && modernListChanged > 0, 'the 2026 listener notified');
      // One more round trip on the 2025 client: nothing came with it or before it,
      // as its only channel for server-initiated messages, the GET stream, was refused.
      await client.ping();
      expect({ updates, listChanged }).toEqual({ updates: 0, listChanged: 0 });
      expect(getStatuses).toEqual(expect.arrayContaining([405]));
      expect(getStatuses).not.toContain(200);
    }
    await subscription?.close();
    await Promise.all([client.close(), writer.close(), listener?.close()]);
  });

  it(`a cut stream ${stateful ? 'resumes with Last-Event-ID' : 'cannot resume'}; progress streams in both`, async () => {
    const headers = await rawInitialize(shop.url);
    const abort = new AbortController();
    const call = await fetch(shop.url, {
      method: 'POST',
      headers: { ...JSON_AND_SSE, ...headers },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'generate_report', arguments: { seconds: 1 }, _meta: { progressToken: 'r1' } },
      }),
      signal: abort.signal,
    });
    expect(call.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // 2025-11-25 streams may open with a priming event (an id, empty data): read to the first progress.
    const first = await readSse(call, (text) => /"progress":1,[^\n]*\n\n/.test(text));
    abort.abort();
    const progressEvent = first.split('\n\n').find((event) => event.includes('"progress":1,'));
    // Progress on the request's own response stream works without a session too.
    expect(progressEvent).toMatch(/"method":"notifications\/progress"/);
    const lastEventId = /^id: ?(.+)$/m.exec(progressEvent ?? '')?.[1];
    const resume = await resumeStream(shop.url, headers, lastEventId ?? 'none');
    if (stateful) {
      expect(lastEventId).toBeDefined();
      expect(resume.status).toBe(200);
      const replayed = await readSse(resume, (text) => text.includes('"id":2'));
      expect(replayed).toMatch(/"result":\{"content"/);
      expect(replayed).not.toMatch(/"progress":1,/);
      expect(eventCount(replayed)).toBeGreaterThanOrEqual(2);
    } else {
      expect(lastEventId).toBeUndefined();
      expect(resume.status).toBe(405);
      await resume.text();
    }
  });
});
