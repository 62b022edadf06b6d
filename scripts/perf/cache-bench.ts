/**
 * Benchmark of the tool-result cache (not a test; numbers depend on the machine):
 *
 *   npm run build && npm run build:scripts && node dist-dev/scripts/perf/cache-bench.js [--calls 2000] [--mixed 20s] [--json]
 *
 * 1. p50/p90/p99 of sequential get_product calls straight to a worker, with an
 *    SDK 1.x client (2025 session) and a v2 client (2026):
 *      baseline  backend latency 0, cache off       what a call costs without any work
 *      uncached  backend latency 20 ms, cache off   the demo's default latency
 *      miss      latency 20 ms, cache on, a new id every call (lookup + lock + store)
 *      hit       latency 20 ms, cache on, the same id every call
 *    The target: hit p50 - baseline p50 < 1 ms.
 * 2. The hit ratio under the bench's mixed workload against `serve` with its
 *    defaults (3 workers, gateway, Redis), via `mcp-scale bench --spawn --json`.
 */
import { projectRoot } from '../project-root.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseDuration } from '../../src/config/duration.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import { startWorkerHost, type WorkerHost, type WorkerHostOptions } from '../../src/worker/host.js';
import { stopChild, Teardown } from './teardown.js';

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

interface Row extends Percentiles {
  era: '2025' | '2026';
  variant: 'baseline' | 'uncached' | 'miss' | 'hit';
  calls: number;
  /** The _meta marker the last result carried. */
  marker: string;
}

type CallTool = (args: { name: string; arguments: Record<string, unknown> }) => Promise<unknown>;

const CLI = path.join(projectRoot(import.meta.url), 'bin', 'mcp-scale.js');

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? (process.argv[at + 1] as string) : fallback;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/**
 * The SDK clients pass one long-lived AbortSignal to every fetch, and Node's
 * fetch removes its abort listener from it only at GC (nodejs/node#52635),
 * which floods a long sequential run with MaxListenersExceededWarning. A
 * dependent signal per request keeps the long-lived one clean.
 */
const fetchWithOwnSignal: typeof fetch = (input, init) =>
  fetch(input, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init);

async function connect(
  era: '2025' | '2026',
  url: string,
): Promise<{ call: CallTool; close(): Promise<void> }> {
  if (era === '2025') {
    const client = new V1Client({ name: 'cache-bench', version: '1' });
    await client.connect(new V1Transport(new URL(url), { fetch: fetchWithOwnSignal }));
    return { call: (args) => client.callTool(args), close: () => client.close() };
  }
  const client = new V2Client(
    { name: 'cache-bench', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new V2Transport(new URL(url), { fetch: fetchWithOwnSignal }));
  return { call: (args) => client.callTool(args), close: () => client.close() };
}

async function measure(
  era: '2025' | '2026',
  variant: Row['variant'],
  worker: WorkerHost,
  calls: number,
  idFor: (i: number) => string,
): Promise<Row> {
  const client = await connect(era, worker.url);
  // Warm up (JIT, connections; for `hit`, the entry), not measured.
  for (let i = 0; i < 200; i++) await client.call({ name: 'get_product', arguments: { id: idFor(-1 - i) } });
  const samples: number[] = [];
  let last: unknown;
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    last = await client.call({ name: 'get_product', arguments: { id: idFor(i) } });
    samples.push(performance.now() - started);
  }
  await client.close();
  // The marker is a short string the gateway puts in _meta (hit/miss/...), or absent.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const marker = String((last as { _meta?: Record<string, unknown> })._meta?.['mcp-scale/cache'] ?? '-');
  return { era, variant, calls, marker, ...percentiles(samples) };
}

const productId = (n: number) => `p${String(n).padStart(5, '0')}`;

async function latencies(calls: number, parent: Teardown): Promise<Row[]> {
  const teardown = parent.scope();
  try {
    return await measureLatencies(calls, teardown);
  } finally {
    await teardown.run();
  }
}

async function measureLatencies(calls: number, teardown: Teardown): Promise<Row[]> {
  const redis = await teardown.start(startLocalRedis, (r) => r.close());
  const start = (options: WorkerHostOptions) =>
    teardown.start(
      () => startWorkerHost(options),
      (w) => w.close(),
    );
  const common = {
    host: '127.0.0.1',
    port: 0,
    path: '/mcp',
    redisUrl: redis.url,
    sessions: 'stateful' as const,
    sessionIdleMs: 600_000,
    maxBodyBytes: 4 * 1024 * 1024,
    // Clients call these workers directly (no gateway signs for them).
    acceptUnsigned: true,
  };
  const off = { ttlMs: { get_product: 0 }, scope: {}, force: [], timeoutMs: 50 };
  const workers = {
    baseline: await start({
      ...common,
      id: 'baseline',
      prefix: 'bench-b:',
      backendLatencyMs: 0,
      cache: off,
    }),
    uncached: await start({
      ...common,
      id: 'uncached',
      prefix: 'bench-u:',
      backendLatencyMs: 20,
      cache: off,
    }),
    cached: await start({ ...common, id: 'cached', prefix: 'bench-c:', backendLatencyMs: 20 }),
  };
  const rows: Row[] = [];
  for (const era of ['2025', '2026'] as const) {
    // A fresh id range per era and variant so "miss" never finds an entry.
    const base = era === '2025' ? 0 : 5000;
    // The 20 ms variants are dominated by the backend: fewer calls describe them as well.
    const slowCalls = Math.min(calls, 500);
    rows.push(await measure(era, 'baseline', workers.baseline, calls, () => 'p00001'));
    rows.push(await measure(era, 'uncached', workers.uncached, slowCalls, () => 'p00001'));
    let next = base + 2001; // ids nobody asked for yet: 200 warm-up + the measured calls
    rows.push(await measure(era, 'miss', workers.cached, slowCalls, () => productId(next++)));
    rows.push(await measure(era, 'hit', workers.cached, calls, () => productId(base + 1)));
  }
  return rows;
}

interface MixedResult {
  durationMs: number;
  requests: number;
  hitRatio: number | null;
  byTool: Record<string, { hits: number; misses: number; hitRatio: number | null }>;
}

/**
 * `mcp-scale bench ARGS`, its stdout once it exited 0. In its own process
 * group and stopped with SIGINT: on SIGINT bench stops its `--spawn` cluster
 * (private Redis included) before it exits; a terminal's Ctrl-C would reach
 * it too and a second SIGINT, ours, would then kill it before it could.
 */
function runBench(args: string[], teardown: Teardown): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'bench', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  teardown.add(() => stopChild(child, 'SIGINT'));
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      // Stopped by us: its report covers only part of the run, not what this script reports.
      if (teardown.interrupted) reject(new Error('interrupted'));
      else if (code === 0) resolve(out);
      else reject(new Error(`mcp-scale bench exited ${code}: ${err.trim()}`));
    });
  });
}

/** The bench's mixed workload against a spawned `serve` (its defaults: 3 workers, Redis, demo TTLs). */
async function mixedWorkload(durationMs: number, teardown: Teardown): Promise<MixedResult> {
  const stdout = await runBench(
    ['--spawn', '--scenario', 'mixed', '--clients', '20', '--duration', `${durationMs}ms`, '--json'],
    teardown,
  );
  const report = JSON.parse(stdout) as {
    totals?: { requests?: number };
    cache: { hitRatio: number | null; byTool: Record<string, { hits: number; misses: number }> };
  };
  const byTool = Object.fromEntries(
    Object.entries(report.cache.byTool).map(([tool, { hits, misses }]) => [
      tool,
      { hits, misses, hitRatio: hits + misses > 0 ? hits / (hits + misses) : null },
    ]),
  );
  return { durationMs, requests: report.totals?.requests ?? 0, hitRatio: report.cache.hitRatio, byTool };
}

async function main(teardown: Teardown): Promise<void> {
  const calls = Number(flag('calls', '2000'));
  const mixedMs = parseDuration(flag('mixed', '20s'));
  const rows = await latencies(calls, teardown);
  const mixed = mixedMs > 0 ? await mixedWorkload(mixedMs, teardown) : undefined;
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ latencies: rows, mixed }, null, 2)}\n`);
    return;
  }
  const ms = (n: number) => n.toFixed(2).padStart(7);
  console.log('era   variant    calls    p50 ms  p90 ms  p99 ms  marker');
  for (const r of rows) {
    console.log(
      `${r.era}  ${r.variant.padEnd(9)} ${String(r.calls).padStart(6)}  ${ms(r.p50)} ${ms(r.p90)} ${ms(r.p99)}  ${r.marker}`,
    );
  }
  for (const era of ['2025', '2026'] as const) {
    const of = (variant: Row['variant']) => rows.find((r) => r.era === era && r.variant === variant)!;
    console.log(
      `${era}: a hit costs ${(of('hit').p50 - of('baseline').p50).toFixed(2)} ms over a no-latency call (p50); ` +
        `uncached with 20 ms backend: ${of('uncached').p50.toFixed(2)} ms; a miss adds ${(of('miss').p50 - of('uncached').p50).toFixed(2)} ms`,
    );
  }
  if (mixed) {
    console.log(
      `mixed workload (${mixed.durationMs / 1000}s, 20 clients, serve defaults): hit ratio ${
        mixed.hitRatio === null ? '-' : `${(mixed.hitRatio * 100).toFixed(1)}%`
      }`,
    );
    for (const [tool, t] of Object.entries(mixed.byTool)) {
      console.log(
        `  ${tool.padEnd(16)} hits ${String(t.hits).padStart(6)}  misses ${String(t.misses).padStart(6)}  ${
          t.hitRatio === null ? '-' : `${(t.hitRatio * 100).toFixed(1)}%`
        }`,
      );
    }
  }
}

const teardown = new Teardown();
teardown.onSignals();
main(teardown)
  .finally(() => teardown.run())
  .catch((error: unknown) => {
    if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
    console.error(error);
    process.exitCode = 1;
  });
