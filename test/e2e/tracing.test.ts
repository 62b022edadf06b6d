import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, scratchDir, startServe, waitForReadyFile, type TestCluster } from '../helpers/cluster.js';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { waitUntil } from '../helpers/wait.js';

const SERVER = path.resolve(import.meta.dirname, '../helpers/traced-server.mjs');
const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const ERROR = 2;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

interface RpcAnswer {
  status: number;
  headers: Headers;
  messages: { id?: unknown; result?: Record<string, unknown>; error?: unknown }[];
}

describe('OpenTelemetry traces: one trace per call across gateway, worker and the hosted server', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let cluster: TestCluster;
  let session = '';
  let nextId = 1;

  async function rpc(body: unknown, headers: Record<string, string> = {}): Promise<RpcAnswer> {
    const response = await fetch(cluster.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const messages = String(response.headers.get('content-type')).includes('event-stream')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => JSON.parse(line.slice(5)))
      : text
        ? [JSON.parse(text)]
        : [];
    return { status: response.status, headers: response.headers, messages };
  }

  const call = (
    name: string,
    args: Record<string, unknown>,
    headers: Record<string, string> = {},
    meta?: object,
  ) =>
    rpc(
      {
        jsonrpc: '2.0',
        id: nextId++,
        method: 'tools/call',
        params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
      },
      headers,
    );

  const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const one = (spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string) => {
    const found = spans.filter(predicate);
    expect(found, what).toHaveLength(1);
    return found[0]!;
  };
  const waitForSpan = (traceId: string, name: string, service: string) =>
    waitUntil(
      () => spansOf(traceId).some((span) => span.name === name && span.service === service),
      `span '${name}' of ${service} in trace ${traceId}`,
      20_000,
    );

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    cluster = await startServe(
      [
        '--instances',
        '2',
        '--redis',
        'memory',
        '--server',
        SERVER,
        '--cache-ttl',
        'lookup=1m',
        '--otlp-endpoint',
        receiver.url,
      ],
      // OTel's own variables: JSON over HTTP, and batches sent every 50 ms so the test waits little.
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' },
    );
    const init = await rpc({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'trace-test', version: '1' },
      },
    });
    session = String(init.headers.get('mcp-session-id'));
    await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  it('prints where traces go in the banner', () => {
    expect(cluster.stdout()).toContain(`traces        OTLP http/json to ${receiver.url}/v1/traces`);
  });

  it("continues the client's traceparent header: gateway auth, limit, route, upstream; worker, cache, the server's own span", async () => {
    const traceId = hex(16);
    const clientSpan = hex(8);
    const answer = await call('lookup', { key: 'k1' }, { traceparent: traceparent(traceId, clientSpan) });
    expect(answer.messages[0]?.result?.content).toEqual([{ type: 'text', text: 'value of k1' }]);
    await waitForSpan(traceId, 'database query', 'mcp-scale-worker');
    await waitForSpan(traceId, 'tools/call lookup', 'mcp-scale-gateway');
    const spans = spansOf(traceId);

    const gateway = one(
      spans,
      (s) => s.kind === SERVER_KIND && s.service === 'mcp-scale-gateway',
      'gateway server span',
    );
    expect(gateway.name).toBe('tools/call lookup');
    expect(gateway.parentSpanId).toBe(clientSpan);
    expect(gateway.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'lookup',
      'mcp.session.id': session,
      'mcp.protocol.version': '2025-06-18',
      'jsonrpc.request.id': String(nextId - 1),
      'mcp_scale.era': 'legacy',
      'http.response.status_code': 200,
    });
    const children = (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId);
    expect(
      children(gateway)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['auth', 'rate limit', 'route']);
    expect(one(spans, (s) => s.name === 'rate limit', 'limit').attributes['mcp_scale.limit.decision']).toBe(
      'allow',
    );
    const route = one(spans, (s) => s.name === 'route', 'route span');
    const workerId = String(route.attributes['mcp_scale.worker.id']);
    expect(workerId).toMatch(/^w[12]$/);
    expect(route.attributes['mcp_scale.era']).toBe('legacy');
    const upstream = one(children(route), (s) => s.kind === CLIENT_KIND, 'upstream client span');
    expect(upstream.name).toBe(`POST ${workerId}`);

    const worker = one(
      spans,
      (s) => s.kind === SERVER_KIND && s.service === 'mcp-scale-worker',
      'worker span',
    );
    expect(worker.name).toBe('tools/call lookup');
    expect(worker.parentSpanId).toBe(upstream.spanId);
    expect(worker.instance).toContain(`worker-${workerId}@`);
    expect(worker.attributes).toMatchObject({
      'gen_ai.tool.name': 'lookup',
      'mcp_scale.worker.id': workerId,
    });
    const cache = one(children(worker), (s) => s.name === 'cache lookup', 'cache span');
    expect(cache.attributes['mcp_scale.cache.outcome']).toBe('miss');
    // The hosted server's own span (made with @opentelemetry/api) nests under the worker's.
    expect(one(spans, (s) => s.name === 'database query', 'server span').parentSpanId).toBe(worker.spanId);
    expect(gateway.instance).not.toBe(worker.instance);
  });

  it('records a cache hit, where the server is never called', async () => {
    const traceId = hex(16);
    await call('lookup', { key: 'k1' }, { traceparent: traceparent(traceId, hex(8)) });
    await waitForSpan(traceId, 'cache lookup', 'mcp-scale-worker');
    await waitForSpan(traceId, 'tools/call lookup', 'mcp-scale-gateway');
    const spans = spansOf(traceId);
    expect(
      one(spans, (s) => s.name === 'cache lookup', 'cache span').attributes['mcp_scale.cache.outcome'],
    ).toBe('hit');
    expect(spans.some((s) => s.name === 'database query')).toBe(false);
  });

  it('takes the parent from params._meta.traceparent when there is no header', async () => {
    const traceId = hex(16);
    const parent = hex(8);
    await call('lookup', { key: 'k3' }, {}, { traceparent: traceparent(traceId, parent) });
    await waitForSpan(traceId, 'database query', 'mcp-scale-worker');
    await waitForSpan(traceId, 'tools/call lookup', 'mcp-scale-gateway');
    const gateway = one(
      spansOf(traceId),
      (s) => s.service === 'mcp-scale-gateway' && s.kind === SERVER_KIND,
      'gateway',
    );
    expect(gateway.parentSpanId).toBe(parent);
  });

  it('starts one trace per call when the client sends none, and marks a tool error', async () => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    await call('fail', {});
    let traceId = '';
    await waitUntil(() => {
      const worker = receiver.spans.find(
        (s) => !before.has(s.traceId) && s.service === 'mcp-scale-worker' && s.name === 'tools/call fail',
      );
      traceId = worker?.traceId ?? '';
      return (
        traceId !== '' &&
        spansOf(traceId).some((s) => s.service === 'mcp-scale-gateway' && s.kind === SERVER_KIND)
      );
    }, 'the trace of the failing call');
    const spans = spansOf(traceId);
    const gateway = one(spans, (s) => s.service === 'mcp-scale-gateway' && s.kind === SERVER_KIND, 'gateway');
    expect(gateway.parentSpanId).toBeUndefined();
    const worker = one(spans, (s) => s.service === 'mcp-scale-worker' && s.kind === SERVER_KIND, 'worker');
    expect(worker.status.code).toBe(ERROR);
    expect(worker.attributes['error.type']).toBe('tool_error');
  });

  it('shows a re-home and its replayed calls inside the trace of the call that needed it', async () => {
    const probe = await call('lookup', { key: 'where' });
    const home = cluster.info.instances.find((w) => w.id === probe.headers.get('mcp-scale-instance'))!;
    process.kill(home.pid, 'SIGKILL');
    const traceId = hex(16);
    const answer = await call('lookup', { key: 'k4' }, { traceparent: traceparent(traceId, hex(8)) });
    expect(answer.messages[0]?.result?.content).toEqual([{ type: 'text', text: 'value of k4' }]);
    await waitForSpan(traceId, 'session re-home', 'mcp-scale-gateway');
    await waitForSpan(traceId, 'initialize', 'mcp-scale-worker');
    await waitForSpan(traceId, 'tools/call lookup', 'mcp-scale-gateway');
    const spans = spansOf(traceId);
    const rehome = one(spans, (s) => s.name === 'session re-home', 're-home span');
    expect(rehome.attributes).toMatchObject({ 'mcp.session.id': session, 'mcp_scale.rehome.from': home.id });
    expect(rehome.attributes['mcp_scale.rehome.replayed_calls']).toBeGreaterThanOrEqual(2);
    expect(String(rehome.attributes['mcp_scale.rehome.reason'])).toMatch(
      /worker-down|worker-died|upstream-404/,
    );
    const replays = spans.filter((s) => s.parentSpanId === rehome.spanId).map((s) => s.name);
    expect(replays).toEqual(
      expect.arrayContaining(['replay initialize', 'replay notifications/initialized']),
    );
    const replayInit = one(spans, (s) => s.name === 'replay initialize', 'replayed initialize');
    const workerInit = one(
      spans,
      (s) => s.service === 'mcp-scale-worker' && s.name === 'initialize',
      'worker init',
    );
    expect(workerInit.parentSpanId).toBe(replayInit.spanId);
    expect(
      one(spans, (s) => s.service === 'mcp-scale-gateway' && s.kind === SERVER_KIND, 'gateway').name,
    ).toBe('tools/call lookup');
  });
});

describe('OpenTelemetry traces: protobuf, and refusals', () => {
  it('exports OTLP/HTTP protobuf from a worker role', async () => {
    const receiver = await startOtlpReceiver();
    const dir = scratchDir();
    const readyFile = path.join(dir, 'ready.json');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'worker',
        '--id',
        'wp',
        '--port',
        '0',
        '--redis',
        'memory',
        '--ready-file',
        readyFile,
        '--otlp-endpoint',
        receiver.url,
        // Reached without a gateway, so it takes unsigned requests.
        '--direct-workers',
      ],
      {
        env: { ...process.env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_BSP_SCHEDULE_DELAY: '50' },
        stdio: 'ignore',
      },
    );
    try {
      const ready = await waitForReadyFile<{ url: string }>(readyFile, child);
      const response = await fetch(ready.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        }),
      });
      expect(response.status).toBe(200);
      await response.text();
      await waitUntil(() => receiver.contentTypes.includes('application/x-protobuf'), 'a protobuf export');
    } finally {
      child.kill('SIGTERM');
      await receiver.close();
    }
  });

  it('refuses a protocol it cannot export, in one line with exit 2', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--otlp-endpoint', 'http://127.0.0.1:4318'], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', MCP_SCALE_HOME: scratchDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toEqual([
      'mcp-scale: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: use http/protobuf or http/json',
    ]);
  });
});
