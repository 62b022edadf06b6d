import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

/** A 2025-era client's POST headers. */
export const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

/**
 * One 2025-era `tools/call get_product` on a session: its latency and the worker that answered.
 * Throws on an HTTP or JSON-RPC error, so a measure never counts a failed call as a fast one.
 */
export async function callGetProduct(
  pool: Pool,
  path: string,
  session: string,
  id: number,
): Promise<{ ms: number; instance: string }> {
  const started = performance.now();
  const response = await pool.request({
    path,
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'get_product', arguments: { id: 'p00001' } },
    }),
  });
  const text = await response.body.text();
  const instance = String(response.headers['mcp-scale-instance'] ?? '');
  if (response.statusCode !== 200 || text.includes('"error"'))
    throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
  return { ms: performance.now() - started, instance };
}

/** Opens 2025 sessions the way a client does: initialize, then notifications/initialized. */
export async function openSessions(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(url, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'mcp-scale-perf', version: '1' },
        },
      }),
    });
    await response.text();
    const id = response.headers.get('mcp-session-id');
    if (!response.ok || !id) throw new Error(`initialize failed on ${url}: HTTP ${response.status}`);
    const initialized = await fetch(url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await initialized.text();
    ids.push(id);
  }
  return ids;
}

export async function closeSessions(url: string, ids: string[]): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      fetch(url, { method: 'DELETE', headers: { ...HEADERS, 'mcp-session-id': id } })
        .then((r) => r.text())
        .catch(() => {}),
    ),
  );
}

const toolCall = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'get_product', arguments: { id: 'p00001' } },
  });

/**
 * Saturation throughput: autocannon, one session per connection, a distinct
 * JSON-RPC id per request (one id reused on one session collides inside SDK
 * 1.x servers).
 */
export async function saturate(
  url: string,
  sessions: string[],
  durationMs: number,
): Promise<{ rps: number; errors: number }> {
  let next = 1;
  let session = 0;
  const target = new URL(url);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url,
        connections: sessions.length,
        duration: durationMs / 1000,
        setupClient: (client) => {
          const headers = { ...HEADERS, 'mcp-session-id': sessions[session++ % sessions.length] as string };
          client.setRequests([
            {
              method: 'POST',
              path: target.pathname,
              headers,
              setupRequest: (request) => ({ ...request, body: toolCall(next++) }),
            },
          ]);
        },
      },
      // autocannon's callback error is typed `any`; it is the Error autocannon failed with.
      (error, done) => (error ? reject(error as Error) : resolve(done)),
    );
  });
  return { rps: result.requests.average, errors: result.errors + result.non2xx + result.timeouts };
}

/**
 * Open model at a fixed arrival rate: requests are sent at their intended
 * times whatever the server does, and latency counts from the intended
 * time, so a slow answer is never hidden (no coordinated omission).
 */
export async function openLoop(
  url: string,
  sessions: string[],
  ratePerSecond: number,
  durationMs: number,
): Promise<{ p50: number; p90: number; p99: number; sent: number; errors: number }> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: sessions.length, pipelining: 1 });
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const interval = 1000 / ratePerSecond;
  const start = performance.now();
  const total = Math.floor((durationMs / 1000) * ratePerSecond);
  let sent = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const intended = start + sent * interval;
        const id = ++sent;
        const request = pool
          .request({
            path: target.pathname,
            method: 'POST',
            headers: { ...HEADERS, 'mcp-session-id': sessions[id % sessions.length] as string },
            body: toolCall(id),
          })
          .then(async (response) => {
            await response.body.text();
            if (response.statusCode !== 200) errors++;
            histogram.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
          })
          .catch(() => {
            errors++;
          });
        inflight.add(request);
        void request.finally(() => inflight.delete(request));
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(inflight);
  await pool.close();
  const ms = (q: number) => histogram.getValueAtPercentile(q) / 1000;
  const result = { p50: ms(50), p90: ms(90), p99: ms(99), sent, errors };
  histogram.destroy();
  return result;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
