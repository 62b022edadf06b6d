import autocannon from 'autocannon';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { UserError } from '../errors.js';
import { HEADER } from '../protocol/headers.js';
import { parseRetryAfter } from './clients/response-probe.js';
import type { ScenarioSummary } from './report-schema.js';
import type { BenchOptions, BenchTarget, ResponseRecord } from './types.js';

/**
 * `--scenario raw`: the HTTP ceiling, measured by autocannon. Each
 * connection gets its own pre-opened 2025 session (initialize +
 * notifications/initialized, by plain fetch) and every request a distinct
 * JSON-RPC id: reusing one id on one session collides inside SDK 1.x
 * servers. With `--rate`, autocannon's coordinated-omission correction
 * assumes 1 ms intervals and is wrong, so it is switched off
 * (`ignoreCoordinatedOmission`); autocannon refuses that flag without a rate.
 */
export interface RawInput {
  options: BenchOptions;
  target: BenchTarget;
  clock: () => number;
  record: (record: ResponseRecord) => void;
  /** Called when autocannon starts, with a function that stops it. */
  onStart: (stop: () => void) => void;
}

const ACCEPT = 'application/json, text/event-stream';

export async function runRaw(input: RawInput): Promise<ScenarioSummary> {
  const { options, target, clock, record } = input;
  const plan = rawPlan(options);
  const base = { 'content-type': 'application/json', accept: ACCEPT, ...options.headers };
  const sessions: (string | undefined)[] = [];
  for (let i = 0; i < plan.connections; i++)
    sessions.push(await openSession(target.url, base, clock, record));
  const opened = sessions.filter((id) => id !== undefined).length;
  const method = options.tool ? 'tools/call' : 'ping';
  const params = options.tool ? { name: options.tool, arguments: options.toolArgs ?? {} } : undefined;
  let nextId = 1;
  let nextSession = 0;
  const url = new URL(target.url);

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: plan.connections,
        ...(options.iterations
          ? { amount: options.iterations }
          : { duration: (options.durationMs ?? 10_000) / 1000 }),
        timeout: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
        ...(plan.ratePerSecond ? { overallRate: plan.ratePerSecond, ignoreCoordinatedOmission: true } : {}),
        setupClient: (client) => {
          const session = sessions[nextSession++ % sessions.length];
          const headers = {
            ...base,
            [HEADER.protocolVersion]: LATEST_PROTOCOL_VERSION,
            ...(session ? { [HEADER.sessionId]: session } : {}),
          };
          let last: { status: number; body: string; headers: Record<string, unknown> } | undefined;
          client.setRequests([
            {
              method: 'POST',
              path: url.pathname + url.search,
              headers,
              setupRequest: (request) => ({
                ...request,
                body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, ...(params ? { params } : {}) }),
              }),
              onResponse: (status, body, _context, responseHeaders) => {
                last = { status, body, headers: responseHeaders as Record<string, unknown> };
              },
            },
          ]);
          client.on('response', (_status: number, _bytes: number, responseTime: number) => {
            if (last) record(rawRecord(clock(), responseTime, method, options.tool, session, last));
            last = undefined;
          });
        },
      },
      // autocannon's callback error is typed `any`; it is the Error autocannon failed with.
      (error, done) => (error ? reject(error as Error) : resolve(done)),
    );
    input.onStart(() => instance.stop());
  });

  await Promise.all(sessions.map((id) => (id ? closeSession(target.url, base, id) : Promise.resolve())));
  return {
    name: 'raw',
    connections: plan.connections,
    sessionsOpened: opened,
    method,
    ratePerSecond: plan.ratePerSecond ?? null,
    ignoreCoordinatedOmission: plan.ratePerSecond !== undefined,
    autocannon: {
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
    },
    checks: [
      {
        name: 'every connection has its own session',
        passed: opened === plan.connections,
        detail: `${opened} sessions for ${plan.connections} connections`,
      },
    ],
  };
}

function rawPlan(options: BenchOptions): { connections: number; ratePerSecond?: number } {
  const model = options.model;
  if (model.kind === 'closed') return { connections: model.clients };
  const [stage, ...rest] = model.stages;
  if (!stage || rest.length > 0 || stage.fromPerSecond !== stage.toPerSecond) {
    throw new UserError('--scenario raw takes a constant --rate, not a --ramp');
  }
  return {
    connections: Math.min(model.maxClients, Math.max(1, Math.ceil(stage.fromPerSecond))),
    ratePerSecond: stage.fromPerSecond,
  };
}

function rawRecord(
  at: number,
  responseTime: number,
  method: string,
  tool: string | undefined,
  session: string | undefined,
  response: { status: number; body: string; headers: Record<string, unknown> },
): ResponseRecord {
  const header = (name: string): string | undefined => {
    const value = response.headers[name] ?? response.headers[name.toLowerCase()];
    return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
  };
  const rpcCode = /"error"\s*:\s*\{\s*"code"\s*:\s*(-?\d+)/.exec(response.body)?.[1];
  const ok = response.status >= 200 && response.status < 300 && rpcCode === undefined;
  const instance = header(HEADER.instance);
  const retryAfter = header('retry-after');
  const retryAfterMs = retryAfter === undefined ? undefined : parseRetryAfter(retryAfter);
  return {
    at,
    intendedAt: at - responseTime,
    latencyMs: responseTime,
    era: '2025',
    vu: 0,
    method,
    ...(tool ? { tool } : {}),
    ok,
    status: response.status,
    ...(rpcCode !== undefined ? { rpcCode: Number(rpcCode) } : {}),
    ...(ok
      ? {}
      : {
          errorKind: response.status >= 400 ? `http_${response.status}` : `rpc_${rpcCode}`,
          errorMessage: response.body.slice(0, 200),
        }),
    ...(instance ? { instance } : {}),
    ...(session ? { sessionId: session } : {}),
    ...(response.status === 429 ? { limited: true } : {}),
    ...(response.status === 429 && retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

async function openSession(
  url: string,
  headers: Record<string, string>,
  clock: () => number,
  record: (record: ResponseRecord) => void,
): Promise<string | undefined> {
  const intendedAt = clock();
  const initialize = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcp-scale-bench-raw', version: '1' },
    },
  };
  try {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(initialize) });
    await response.text();
    const sessionId = response.headers.get(HEADER.sessionId) ?? undefined;
    const instance = response.headers.get(HEADER.instance) ?? undefined;
    const at = clock();
    record({
      at,
      intendedAt,
      latencyMs: at - intendedAt,
      era: '2025',
      vu: 0,
      method: 'initialize',
      ok: response.ok,
      status: response.status,
      ...(response.ok ? {} : { errorKind: `http_${response.status}` }),
      ...(instance ? { instance } : {}),
      ...(sessionId ? { sessionId, sessionOpened: response.ok } : {}),
    });
    if (!response.ok) return undefined;
    const notified = await fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        [HEADER.protocolVersion]: LATEST_PROTOCOL_VERSION,
        ...(sessionId ? { [HEADER.sessionId]: sessionId } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await notified.text();
    return sessionId;
  } catch (error) {
    const at = clock();
    record({
      at,
      intendedAt,
      latencyMs: at - intendedAt,
      era: '2025',
      vu: 0,
      method: 'initialize',
      ok: false,
      errorKind: 'network',
      errorMessage: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}

async function closeSession(url: string, headers: Record<string, string>, sessionId: string): Promise<void> {
  try {
    const response = await fetch(url, {
      method: 'DELETE',
      headers: { ...headers, [HEADER.sessionId]: sessionId },
    });
    await response.text();
  } catch {
    // the session dies with the server anyway
  }
}
