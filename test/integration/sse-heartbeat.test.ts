import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { startTestGateway, startTestWorkerHost } from '../helpers/roles.js';

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

/** Opens a 2025 session through the gateway and its GET stream; returns the stream's reader. */
async function openStream(url: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const init = await fetch(url, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'hb', version: '1' } },
    }),
  });
  const session = init.headers.get('mcp-session-id')!;
  await init.body?.cancel();
  await fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  }).then((r) => r.body?.cancel());
  const get = await fetch(url, { headers: { ...HEADERS, 'mcp-session-id': session } });
  expect(get.status).toBe(200);
  expect(get.headers.get('content-type')).toContain('text/event-stream');
  return get.body!.getReader();
}

/** Reads until `count` heartbeat comments arrived (bounded by the test timeout). */
async function heartbeats(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (text.split(': keepalive\n\n').length - 1 < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

describe('SSE heartbeats from the gateway', () => {
  let worker: WorkerHost;
  let gateway: Gateway;
  let silent: Gateway;

  beforeAll(async () => {
    worker = await startTestWorkerHost({ id: 'w1', prefix: 'hb:' });
    const workers = [{ id: worker.id, url: worker.url }];
    gateway = await startTestGateway({ workers, sseHeartbeatMs: 200 });
    silent = await startTestGateway({ workers, sseHeartbeatMs: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await silent?.close();
    await worker?.close();
  });

  it('a quiet GET stream gets `: keepalive` comment lines, and nothing else', async () => {
    const reader = await openStream(gateway.url);
    const text = await heartbeats(reader, 3);
    await reader.cancel();
    expect(text.split(': keepalive\n\n').length - 1).toBeGreaterThanOrEqual(3);
    // Only comment lines: nothing a client would parse as an event.
    expect(text.replaceAll(': keepalive\n\n', '')).toBe('');
  }, 20_000);

  it('--sse-heartbeat 0 sends none', async () => {
    const reader = await openStream(silent.url);
    const first = await Promise.race([
      reader.read().then(() => 'data'),
      // Several heartbeat periods of the other gateway, bounded; a heartbeat here would win the race.
      new Promise<string>((resolve) => setTimeout(() => resolve('quiet'), 1000)),
    ]);
    await reader.cancel();
    expect(first).toBe('quiet');
  });
});
