import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRole, type RoleProcess } from './fixtures.js';
import { closeSessions, median, openLoop, openSessions, saturate } from './load.js';
import { Teardown } from './teardown.js';

/**
 * What OpenTelemetry tracing costs: three identical clusters (one gateway,
 * one worker, memory mode, backend latency 0) with tracing off, on at 100 %
 * and on at 1 % (parentbased_traceidratio), exporting OTLP/HTTP protobuf to
 * a sink in this process. Rounds alternate between them; reported as ratios
 * to "off" (throughput at saturation) and as added latency at a fixed rate.
 *
 *   node dist-dev/scripts/perf/tracing-overhead.js [--rounds 3] [--seconds 5] [--json]
 */
export interface TracingOverhead {
  callsPerSecond: Record<Variant, number>;
  throughputVsOff: { sampled100: number; sampled1: number };
  latencyAtRate: { ratePerSecond: number } & Record<Variant, { p50Ms: number; p99Ms: number }>;
  spansExported: number;
}

type Variant = 'off' | 'sampled100' | 'sampled1';
const VARIANTS: Variant[] = ['off', 'sampled100', 'sampled1'];

/** Accepts OTLP exports and only counts them (a collector's cost is not what is measured). */
async function startSink(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One variant's gateway and worker; each registered in `teardown` as soon as it is up. */
async function startCluster(variant: Variant, sinkUrl: string, teardown: Teardown): Promise<RoleProcess[]> {
  const env: NodeJS.ProcessEnv =
    variant === 'off'
      ? {}
      : {
          OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: variant === 'sampled100' ? '1' : '0.01',
        };
  const stop = (role: RoleProcess) => role.stop();
  const worker = await teardown.start(
    () =>
      startRole(
        'worker',
        `w-${variant}`,
        ['--id', `w-${variant}`, '--redis', 'memory', '--backend-latency', '0'],
        env,
      ),
    stop,
  );
  const gateway = await teardown.start(
    () =>
      startRole('gateway', `gateway-${variant}`, ['--redis', 'memory', '--worker', `w1=${worker.url}`], env),
    stop,
  );
  return [gateway, worker];
}

export async function measureTracingOverhead(options: {
  rounds: number;
  seconds: number;
  log: (line: string) => void;
  /** The caller's: what this starts is stopped when this returns or throws, or when the caller's runs first (Ctrl-C). */
  teardown: Teardown;
}): Promise<TracingOverhead> {
  const { rounds, seconds, log } = options;
  const teardown = options.teardown.scope();
  const clusters = new Map<Variant, RoleProcess[]>();
  try {
    const sink = await teardown.start(startSink, (s) => s.close());
    for (const variant of VARIANTS) clusters.set(variant, await startCluster(variant, sink.url, teardown));
    const url = (variant: Variant) => clusters.get(variant)![0]!.url;
    const sessions = new Map<Variant, string[]>();
    for (const variant of VARIANTS) sessions.set(variant, await openSessions(url(variant), 50));
    log(`tracing: warm-up (${seconds}s per variant)…`);
    for (const variant of VARIANTS) await saturate(url(variant), sessions.get(variant)!, seconds * 1000);

    const rps = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const variant of VARIANTS) {
        const result = await saturate(url(variant), sessions.get(variant)!, seconds * 1000);
        rps.get(variant)!.push(result.rps);
        log(`tracing round ${round} saturation ${variant.padEnd(10)} ${result.rps.toFixed(0)} calls/s`);
      }
    }
    const ratio = (variant: Variant) =>
      median(rps.get(variant)!.map((value, i) => value / rps.get('off')![i]!));
    const rate = Math.round(median(rps.get('off')!) * 0.4);
    const latency = new Map<Variant, { p50: number[]; p99: number[] }>(
      VARIANTS.map((v) => [v, { p50: [], p99: [] }]),
    );
    for (let round = 1; round <= rounds; round++) {
      for (const variant of VARIANTS) {
        const result = await openLoop(url(variant), sessions.get(variant)!, rate, seconds * 1000);
        latency.get(variant)!.p50.push(result.p50);
        latency.get(variant)!.p99.push(result.p99);
        log(
          `tracing round ${round} at ${rate}/s ${variant.padEnd(10)} p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms`,
        );
      }
    }
    for (const variant of VARIANTS) await closeSessions(url(variant), sessions.get(variant)!);
    const summary = (variant: Variant) => ({
      p50Ms: median(latency.get(variant)!.p50),
      p99Ms: median(latency.get(variant)!.p99),
    });
    return {
      callsPerSecond: {
        off: median(rps.get('off')!),
        sampled100: median(rps.get('sampled100')!),
        sampled1: median(rps.get('sampled1')!),
      },
      throughputVsOff: { sampled100: ratio('sampled100'), sampled1: ratio('sampled1') },
      latencyAtRate: {
        ratePerSecond: rate,
        off: summary('off'),
        sampled100: summary('sampled100'),
        sampled1: summary('sampled1'),
      },
      spansExported: sink.requests(),
    };
  } finally {
    await teardown.run();
  }
}

export function formatTracingOverhead(t: TracingOverhead): string {
  const l = t.latencyAtRate;
  return `  OpenTelemetry tracing (1 gateway + 1 worker per variant, OTLP/HTTP protobuf, ${t.spansExported} export requests)
    throughput  off ${t.callsPerSecond.off.toFixed(0)} calls/s; sampled 100% = ${t.throughputVsOff.sampled100.toFixed(2)}x off; sampled 1% = ${t.throughputVsOff.sampled1.toFixed(2)}x off
    at ${l.ratePerSecond}/s  p50 off ${l.off.p50Ms.toFixed(2)} / 100% ${l.sampled100.p50Ms.toFixed(2)} / 1% ${l.sampled1.p50Ms.toFixed(2)} ms;  p99 off ${l.off.p99Ms.toFixed(2)} / 100% ${l.sampled100.p99Ms.toFixed(2)} / 1% ${l.sampled1.p99Ms.toFixed(2)} ms`;
}

async function main(teardown: Teardown): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const json = argv.includes('--json');
  const result = await measureTracingOverhead({
    rounds: arg('--rounds', 3),
    seconds: arg('--seconds', 5),
    log: (line) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
    teardown,
  });
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatTracingOverhead(result)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const teardown = new Teardown();
  teardown.onSignals();
  main(teardown).catch((error: unknown) => {
    if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
    console.error(error);
    process.exitCode = 1;
  });
}
