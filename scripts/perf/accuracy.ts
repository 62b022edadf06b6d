import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { BenchEngine } from '../../src/bench/engine.js';
import { constantStages } from '../../src/bench/load-profile.js';
import type { BenchReport } from '../../src/bench/report-schema.js';
import type { ClientKind } from '../../src/bench/clients/era-connection.js';
import type { BenchOptions, Era } from '../../src/bench/types.js';
import { stopChild, Teardown } from './teardown.js';

/**
 * Is the measuring tool the bottleneck? Run on demand, not in tests:
 *   npm run build && npm run build:scripts && node dist-dev/scripts/perf/accuracy.js [seconds]
 *
 * Against a plain node:http JSON-RPC server (its own process, so its own
 * core on a 2-core machine) it measures:
 *   1. autocannon's ceiling, and the virtual users' ceiling with each client
 *      (`--client sdk`: the full SDK clients; `--client lean`: the wire-level
 *      client) of each era, as calls/s and as calls per CPU-second of this
 *      process; the ratio VU / autocannon per CPU is the number to watch
 *      (target >= 0.5). The clients alternate within one run;
 *   2. the open model against a server that answers after exactly 50 ms:
 *      p50 must read 50 ms (+-2 ms), not less.
 */
export interface CeilingResult {
  callsPerSecond: number;
  callsPerCpuSecond: number;
}

export interface AccuracyResult {
  seconds: number;
  connections: number;
  autocannon: CeilingResult;
  /** Keyed `sdk 2025`, `lean 2025`, `sdk 2026`, `lean 2026`. */
  virtualUsers: Record<string, CeilingResult & { ratioToAutocannon: number; ratioPerCpu: number }>;
  openModel50ms: Record<
    Era,
    { ratePerSecond: number; p50: number; p90: number; p99: number; dropped: number }
  >;
}

/** A JSON-RPC server just MCP enough for both SDK clients: no sessions, no SSE. */
const PLAIN_SERVER = `
const http = require('node:http');
const delay = Number(process.env.DELAY_MS || 0);
const send = (res, status, body) => {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
http.createServer((req, res) => {
  if (req.method !== 'POST') return send(res, 405, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'POST only' } });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (msg.id === undefined) return send(res, 202);
    const modern = Boolean(msg.params && msg.params._meta && msg.params._meta['io.modelcontextprotocol/protocolVersion']);
    const done = (result) => send(res, 200, { jsonrpc: '2.0', id: msg.id, result: modern ? { ...result, resultType: 'complete' } : result });
    switch (msg.method) {
      case 'initialize':
        return done({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'plain', version: '1' } });
      case 'server/discover':
        return done({ supportedVersions: ['2026-07-28'], capabilities: { tools: {} } });
      case 'tools/list':
        return done({ tools: [] });
      case 'tools/call':
        return setTimeout(() => done({ content: [{ type: 'text', text: 'ok' }] }), delay);
      default:
        return done({});
    }
  });
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });
`;

async function startPlainServer(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', PLAIN_SERVER], {
    env: { ...process.env, DELAY_MS: String(delayMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`plain server exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, close: () => stopChild(child, 'SIGKILL') };
}

async function withCpu<T>(run: () => Promise<T>): Promise<{ value: T; cpuSeconds: number }> {
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  return { value, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function autocannonCeiling(url: string, seconds: number, connections: number): Promise<CeilingResult> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'get_product', arguments: { id: '1' } },
  });
  const { value, cpuSeconds } = await withCpu(() =>
    autocannon({
      url,
      connections,
      duration: seconds,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    }),
  );
  return { callsPerSecond: value.requests.average, callsPerCpuSecond: value.requests.total / cpuSeconds };
}

function options(
  url: string,
  era: Era,
  model: BenchOptions['model'],
  durationMs?: number,
  client: ClientKind = 'sdk',
): BenchOptions {
  return {
    url,
    client,
    scenario: 'cache',
    model,
    mix: era === '2025' ? { '2025': 100, '2026': 0 } : { '2025': 0, '2026': 100 },
    ...(durationMs ? { durationMs } : {}),
    timeoutMs: 30_000,
    gracefulStopMs: 5_000,
    behaviour: { reinitOn404: true, sessionPerCall: false, honourRetryAfter: true },
    headers: {},
    seed: 1,
    tool: 'get_product',
    toolArgs: { id: '1' },
    tickMs: 1000,
  };
}

async function virtualUserCeiling(
  url: string,
  era: Era,
  seconds: number,
  clients: number,
  client: ClientKind,
): Promise<CeilingResult> {
  const model = { kind: 'closed' as const, clients, thinkMinMs: 0, thinkMaxMs: 0 };
  const { value, cpuSeconds } = await withCpu(() =>
    new BenchEngine(options(url, era, model, seconds * 1000, client), { url }).run(),
  );
  return {
    callsPerSecond: value.totals.iterationsPerSecond,
    callsPerCpuSecond: value.totals.iterations / cpuSeconds,
  };
}

async function openModel(
  url: string,
  era: Era,
  seconds: number,
  ratePerSecond: number,
): Promise<BenchReport> {
  const model = {
    kind: 'open' as const,
    stages: constantStages(ratePerSecond, seconds * 1000),
    maxClients: 50,
    preAllocate: 20,
  };
  return new BenchEngine(options(url, era, model), { url }).run();
}

/** The plain servers it starts are stopped when it returns or throws, or when `parent` runs first (Ctrl-C). */
export async function measureAccuracy(
  parent: Teardown,
  seconds = 5,
  connections = 50,
): Promise<AccuracyResult> {
  const teardown = parent.scope();
  const start = (delayMs: number) =>
    teardown.start(
      () => startPlainServer(delayMs),
      (server) => server.close(),
    );
  try {
    const fast = await start(0);
    await autocannonCeiling(fast.url, 1, connections); // warm up both sides
    const cannon = await autocannonCeiling(fast.url, seconds, connections);
    const virtualUsers = {} as AccuracyResult['virtualUsers'];
    for (const era of ['2025', '2026'] as const) {
      for (const client of ['sdk', 'lean'] as const) {
        await virtualUserCeiling(fast.url, era, 1, connections, client);
        const vu = await virtualUserCeiling(fast.url, era, seconds, connections, client);
        virtualUsers[`${client} ${era}`] = {
          ...vu,
          ratioToAutocannon: vu.callsPerSecond / cannon.callsPerSecond,
          ratioPerCpu: vu.callsPerCpuSecond / cannon.callsPerCpuSecond,
        };
      }
    }
    await fast.close();
    const slow = await start(50);
    const openModel50ms = {} as AccuracyResult['openModel50ms'];
    for (const era of ['2025', '2026'] as const) {
      const report = await openModel(slow.url, era, seconds, 100);
      const { p50, p90, p99 } = report.latency.all;
      openModel50ms[era] = { ratePerSecond: 100, p50, p90, p99, dropped: report.totals.dropped };
    }
    return { seconds, connections, autocannon: cannon, virtualUsers, openModel50ms };
  } finally {
    await teardown.run();
  }
}

export function formatAccuracy(result: AccuracyResult): string {
  const n = (value: number) => value.toFixed(0).padStart(8);
  const lines = [
    `accuracy: ${result.seconds}s per measurement, ${result.connections} connections / users, plain node:http JSON-RPC server in its own process`,
    `                       calls/s  calls/CPU-s   ratio   ratio/CPU`,
    `autocannon            ${n(result.autocannon.callsPerSecond)}     ${n(result.autocannon.callsPerCpuSecond)}`,
  ];
  for (const [era, vu] of Object.entries(result.virtualUsers)) {
    lines.push(
      `${`VUs ${era}`.padEnd(22)}${n(vu.callsPerSecond)}     ${n(vu.callsPerCpuSecond)}    ${vu.ratioToAutocannon.toFixed(2)}      ${vu.ratioPerCpu.toFixed(2)}`,
    );
  }
  for (const [era, open] of Object.entries(result.openModel50ms)) {
    lines.push(
      `open model ${era} at ${open.ratePerSecond}/s, 50 ms server: p50 ${open.p50.toFixed(2)} ms  p90 ${open.p90.toFixed(2)} ms  p99 ${open.p99.toFixed(2)} ms  dropped ${open.dropped}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 5);
  const teardown = new Teardown();
  teardown.onSignals();
  measureAccuracy(teardown, seconds)
    .then((result) => process.stdout.write(formatAccuracy(result)))
    .catch((error: unknown) => {
      if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
