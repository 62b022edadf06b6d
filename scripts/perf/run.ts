import { startLoadBalancer } from '../../src/gen/run-lb.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import { spawnBareProxy } from './bare-proxy.js';
import { startGatewayFor, startWorker } from './fixtures.js';
import { measureAddedLatency, signedMs } from './added-latency.js';
import { closeSessions, median, openLoop, openSessions, saturate } from './load.js';
import { measureSessionMemory } from './memory.js';
import { compareProxyCpu, measureProxyCpu } from './proxy-cpu.js';
import { measureRehome } from './rehome.js';
import { Teardown } from './teardown.js';
import { formatTracingOverhead, measureTracingOverhead } from './tracing-overhead.js';

/**
 * `npm run bench:perf`: the gateway's cost, measured in one run as ratios
 * against direct-to-worker (machines are noisy; ratios from alternated
 * rounds are not). 2025 tools/call of a cheap tool, backend latency 0,
 * limits off. Prints a human report, or JSON with --json.
 *
 *   node dist-dev/scripts/perf/run.js [--rounds 3] [--seconds 5] [--json]
 *   node dist-dev/scripts/perf/run.js --cpu-only 800 [--rounds 3] [--seconds 5] [--baseline DIR]
 *   node dist-dev/scripts/perf/run.js --latency-only 1700 [--rounds 7] [--seconds 6] [--baseline DIR]
 *     (only the CPU per proxied call, gateway vs nginx, at 800 calls/s; with
 *     --baseline, also a gateway run from another built checkout, e.g. a
 *     `git worktree` of main, alternated with this one in every round)
 */
interface Args {
  rounds: number;
  seconds: number;
  json: boolean;
  /** Only the CPU per proxied call, at this fixed rate (for profiling rounds). */
  cpuOnlyRate?: number;
  /** Only the added latency, at this fixed rate (an A/B of two builds with --baseline). */
  latencyOnlyRate?: number;
  /** A built checkout whose gateway is measured too (--cpu-only, --latency-only), to compare a change with its base. */
  baseline?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 3, seconds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') args.rounds = Number(argv[++i]);
    else if (argv[i] === '--seconds') args.seconds = Number(argv[++i]);
    else if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--cpu-only') args.cpuOnlyRate = Number(argv[++i]);
    else if (argv[i] === '--latency-only') args.latencyOnlyRate = Number(argv[++i]);
    else if (argv[i] === '--baseline') args.baseline = argv[++i];
  }
  return args;
}

async function main(teardown: Teardown): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  // The cluster measured first, stopped before the tracing clusters start.
  const cluster = teardown.scope();
  try {
    const redis = await cluster.start(startLocalRedis, (r) => r.close());
    const prefix = 'perf:';
    const worker = await cluster.start(
      () => startWorker('w1', redis.url, prefix),
      (w) => w.stop(),
    );
    const gateway = await cluster.start(
      () => startGatewayFor([{ id: 'w1', url: worker.url }], redis.url, prefix),
      (g) => g.stop(),
    );
    const nginx = await cluster.start(
      () =>
        startLoadBalancer({
          kind: 'nginx',
          affinity: 'none',
          listenHost: '127.0.0.1',
          listenPort: 0,
          upstreams: [{ id: 'w1', url: worker.url }],
        }),
      (lb) => lb.close(),
    );
    const nginxUrl = `http://127.0.0.1:${nginx.port}/mcp`;
    // The baseline build gets its own worker of the same build (they must agree on the identity format).
    const baselineWorker =
      (args.cpuOnlyRate || args.latencyOnlyRate) && args.baseline
        ? await cluster.start(
            () => startWorker('w1', redis.url, 'perf-base:', args.baseline),
            (w) => w.stop(),
          )
        : undefined;
    const baseline = baselineWorker
      ? await cluster.start(
          () =>
            startGatewayFor([{ id: 'w1', url: baselineWorker.url }], redis.url, 'perf-base:', args.baseline),
          (g) => g.stop(),
        )
      : undefined;
    const bare = await cluster.start(
      () => spawnBareProxy(worker.url),
      (b) => b.stop(),
    );
    const connections = 50;
    const targets: Record<string, string> = { direct: worker.url, gateway: gateway.url, nginx: nginxUrl };
    if (baseline) targets.baseline = baseline.url;
    const sessions: Record<string, string[]> = {};
    for (const [name, url] of Object.entries(targets)) sessions[name] = await openSessions(url, connections);
    sessions.bare = await openSessions(bare.url, connections);

    if (args.latencyOnlyRate) {
      const baselineDirect = baselineWorker ? await openSessions(baselineWorker.url, connections) : [];
      const added = await measureAddedLatency(
        [
          { name: 'direct', url: worker.url, sessions: sessions.direct! },
          { name: 'gateway', url: gateway.url, sessions: sessions.gateway!, direct: 'direct' },
          ...(baseline && baselineWorker
            ? [
                { name: 'baseline direct', url: baselineWorker.url, sessions: baselineDirect },
                {
                  name: 'baseline',
                  url: baseline.url,
                  sessions: sessions.baseline!,
                  direct: 'baseline direct',
                },
              ]
            : []),
        ],
        args.latencyOnlyRate,
        args.seconds * 1000,
        args.rounds,
        log,
      );
      for (const [name, a] of Object.entries(added)) {
        console.log(
          `${name === 'gateway' ? 'this build' : `baseline ${args.baseline}`}: added p50 ${signedMs(a.p50Ms)} ms, p99 ${signedMs(a.p99Ms)} ms (median of per-round differences; p99 ${a.proxy.p99Ms.toFixed(2)} ms over the worker's ${a.direct.p99Ms.toFixed(2)})`,
        );
      }
      return;
    }
    if (args.cpuOnlyRate) {
      const pids = {
        gateway: gateway.child.pid ?? 0,
        nginx: nginx.pid,
        bare: bare.pid,
        baseline: baseline?.child.pid ?? 0,
      };
      targets.bare = bare.url;
      await cpuOnly(args, targets, sessions, pids, worker.child.pid ?? 0, baselineWorker?.child.pid, log);
      return;
    }
    log(`warm-up (${args.seconds}s per target)…`);
    for (const [name, url] of Object.entries(targets))
      await saturate(url, sessions[name]!, args.seconds * 1000);

    const throughput: Record<string, number[]> = { direct: [], gateway: [], nginx: [] };
    for (let round = 1; round <= args.rounds; round++) {
      for (const [name, url] of Object.entries(targets)) {
        const { rps, errors } = await saturate(url, sessions[name]!, args.seconds * 1000);
        throughput[name]!.push(rps);
        log(
          `round ${round} saturation ${name.padEnd(7)} ${rps.toFixed(0)} calls/s${errors ? ` (${errors} errors)` : ''}`,
        );
      }
    }
    const ratio = (name: string) => median(throughput[name]!.map((rps, i) => rps / throughput.direct![i]!));
    const directRps = median(throughput.direct!);
    const rate = Math.round(directRps * 0.4);

    const latency = (
      await measureAddedLatency(
        [
          { name: 'direct', url: worker.url, sessions: sessions.direct! },
          { name: 'gateway', url: gateway.url, sessions: sessions.gateway!, direct: 'direct' },
        ],
        rate,
        args.seconds * 1000,
        args.rounds,
        log,
      )
    ).gateway!;

    log(
      `CPU per proxied call at ${rate}/s (gateway, nginx and a bare Node proxy in front of the same worker)…`,
    );
    const cpu = await measureProxyCpu(
      [
        { name: 'gateway', url: gateway.url, sessions: sessions.gateway!, pid: gateway.child.pid ?? 0 },
        { name: 'nginx', url: nginxUrl, sessions: sessions.nginx!, pid: nginx.pid },
        { name: 'bare', url: bare.url, sessions: sessions.bare, pid: bare.pid },
      ],
      worker.child.pid ?? 0,
      rate,
      args.seconds * 1000,
      args.rounds,
      log,
    );
    const cpuRatio = (a: string, b: string) =>
      median(cpu.proxyUsPerCall[a]!.map((us, i) => us / cpu.proxyUsPerCall[b]![i]!));
    for (const [name, url] of Object.entries(targets)) await closeSessions(url, sessions[name]!);
    await closeSessions(bare.url, sessions.bare);

    log('gateway memory per session…');
    const memory = await measureSessionMemory(gateway.url, 2000, 200);

    log('re-home after kill -9…');
    const w2 = await cluster.start(
      () => startWorker('w2', redis.url, prefix),
      (w) => w.stop(),
    );
    const w3 = await cluster.start(
      () => startWorker('w3', redis.url, prefix),
      (w) => w.stop(),
    );
    const failover = await cluster.start(
      () =>
        startGatewayFor(
          [
            { id: 'w2', url: w2.url },
            { id: 'w3', url: w3.url },
          ],
          redis.url,
          prefix,
        ),
      (g) => g.stop(),
    );
    const rehome = await measureRehome(failover.url, w2, 100);
    await cluster.run();

    log('OpenTelemetry tracing: off, sampled 100 %, sampled 1 %…');
    const tracing = await measureTracingOverhead({
      rounds: args.rounds,
      seconds: args.seconds,
      log,
      teardown,
    });

    const report = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: {
        rounds: args.rounds,
        secondsPerMeasurement: args.seconds,
        connections,
        tool: 'get_product',
        backendLatencyMs: 0,
      },
      throughput: {
        callsPerSecond: {
          direct: directRps,
          gateway: median(throughput.gateway!),
          nginx: median(throughput.nginx!),
        },
        gatewayOverDirect: ratio('gateway'),
        nginxOverDirect: ratio('nginx'),
        target: 'gateway >= 0.9x direct',
      },
      addedLatencyAt40Percent: {
        ratePerSecond: rate,
        p50Ms: latency.p50Ms,
        p99Ms: latency.p99Ms,
        direct: latency.direct,
        gateway: latency.proxy,
        target: 'p50 <= +1 ms, p99 <= +3 ms',
      },
      cpuPerCall: {
        ratePerSecond: rate,
        gatewayUs: median(cpu.proxyUsPerCall.gateway!),
        nginxUs: median(cpu.proxyUsPerCall.nginx!),
        bareNodeUs: median(cpu.proxyUsPerCall.bare!),
        gatewayOverNginx: cpuRatio('gateway', 'nginx'),
        bareNodeOverNginx: cpuRatio('bare', 'nginx'),
        gatewayOverBareNode: cpuRatio('gateway', 'bare'),
        workerUs: median(cpu.workerUsPerCall.gateway!),
        errors: cpu.errors,
        target: 'gateway <= 2x nginx',
      },
      memory: { ...memory, target: '< 2 KB per idle session' },
      rehome: { ...rehome, target: 'p99 < 50 ms' },
      tracing,
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const t = report.throughput;
      const l = report.addedLatencyAt40Percent;
      console.log(`
mcp-scale performance (${report.machine.cpus} cores, ${report.machine.node}, median of ${args.rounds} alternated rounds)
  throughput at saturation (${connections} connections, one session each)
    direct   ${t.callsPerSecond.direct.toFixed(0)} calls/s
    gateway  ${t.callsPerSecond.gateway.toFixed(0)} calls/s   = ${t.gatewayOverDirect.toFixed(2)}x direct   (target >= 0.9x)
    nginx    ${t.callsPerSecond.nginx.toFixed(0)} calls/s   = ${t.nginxOverDirect.toFixed(2)}x direct   (reference)
  added latency at ${l.ratePerSecond}/s (40% of direct saturation), from the intended send time
    p50 ${signedMs(l.p50Ms)} ms (direct ${l.direct.p50Ms.toFixed(2)}, gateway ${l.gateway.p50Ms.toFixed(2)})   (target <= +1 ms)
    p99 ${signedMs(l.p99Ms)} ms (direct ${l.direct.p99Ms.toFixed(2)}, gateway ${l.gateway.p99Ms.toFixed(2)})   (target <= +3 ms)
  CPU per proxied call at ${report.cpuPerCall.ratePerSecond}/s (process CPU from /proc)
    gateway ${report.cpuPerCall.gatewayUs.toFixed(0)} µs, nginx ${report.cpuPerCall.nginxUs.toFixed(0)} µs = ${report.cpuPerCall.gatewayOverNginx.toFixed(2)}x nginx   (target <= 2x); the worker behind spends ${report.cpuPerCall.workerUs.toFixed(0)} µs
    bare Node proxy (node:http + undici, no logic) ${report.cpuPerCall.bareNodeUs.toFixed(0)} µs = ${report.cpuPerCall.bareNodeOverNginx.toFixed(2)}x nginx; gateway / bare = ${report.cpuPerCall.gatewayOverBareNode.toFixed(2)}
  gateway memory
    ${(memory.bytesPerIdleSession / 1024).toFixed(2)} KB per idle session (${memory.sessions} sessions)   (target < 2 KB)
    +${(memory.bytesPerOpenGetStream / 1024).toFixed(2)} KB per open GET stream (${memory.streams} streams)
  re-home after kill -9 of the owning worker (3 workers, ${rehome.sessions} sessions coming back 8 at a time, ${rehome.failures} failed)
    p50 ${rehome.p50.toFixed(2)} ms, p99 ${rehome.p99.toFixed(2)} ms, max ${rehome.max.toFixed(2)} ms over a ${rehome.baselineMs.toFixed(2)} ms call   (target p99 < 50 ms)
${formatTracingOverhead(tracing)}
`);
    }
  } finally {
    await teardown.run();
  }
}

async function cpuOnly(
  args: Args,
  targets: Record<string, string>,
  sessions: Record<string, string[]>,
  pids: { gateway: number; nginx: number; bare: number; baseline: number },
  workerPid: number,
  baselineWorkerPid: number | undefined,
  log: (line: string) => void,
): Promise<void> {
  const rate = args.cpuOnlyRate ?? 0;
  const names = targets.baseline
    ? (['gateway', 'nginx', 'bare', 'baseline'] as const)
    : (['gateway', 'nginx', 'bare'] as const);
  for (const name of names) await openLoop(targets[name]!, sessions[name]!, rate, 2000);
  const cpu = await measureProxyCpu(
    names.map((name) => ({
      name,
      url: targets[name]!,
      sessions: sessions[name]!,
      pid: pids[name],
      workerPid: name === 'baseline' ? baselineWorkerPid : undefined,
    })),
    workerPid,
    rate,
    args.seconds * 1000,
    args.rounds,
    log,
  );
  const overNginx = (name: string) =>
    median(cpu.proxyUsPerCall[name]!.map((us, i) => us / cpu.proxyUsPerCall.nginx![i]!));
  console.log(
    `CPU per proxied call at ${rate}/s: gateway ${median(cpu.proxyUsPerCall.gateway!).toFixed(0)} µs, nginx ${median(cpu.proxyUsPerCall.nginx!).toFixed(0)} µs = ${overNginx('gateway').toFixed(2)}x nginx; worker ${median(cpu.workerUsPerCall.gateway!).toFixed(0)} µs (${cpu.errors} errors)`,
  );
  const overBare = median(cpu.proxyUsPerCall.gateway!.map((us, i) => us / cpu.proxyUsPerCall.bare![i]!));
  console.log(
    `bare Node proxy (node:http + undici, no logic): ${median(cpu.proxyUsPerCall.bare!).toFixed(0)} µs = ${overNginx('bare').toFixed(2)}x nginx; gateway / bare = ${overBare.toFixed(2)}`,
  );
  if (targets.baseline) {
    console.log(
      `baseline ${args.baseline}: ${median(cpu.proxyUsPerCall.baseline!).toFixed(0)} µs = ${overNginx('baseline').toFixed(2)}x nginx`,
    );
    const target = (name: 'gateway' | 'baseline') => ({
      name,
      url: targets[name]!,
      sessions: sessions[name]!,
      pid: pids[name],
    });
    const side = await compareProxyCpu(
      target('gateway'),
      target('baseline'),
      rate / 2,
      args.seconds * 1000,
      args.rounds,
      log,
    );
    const ratio = median(side.a.map((us, i) => us / side.b[i]!));
    console.log(
      `side by side at ${rate / 2}/s each: this build ${median(side.a).toFixed(0)} µs, baseline ${median(side.b).toFixed(0)} µs; this build / baseline = ${ratio.toFixed(2)} (${side.errors} errors)`,
    );
  }
}

// Everything started is stopped whatever happens, a failed start and
// Ctrl-C included (a private redis-server would otherwise outlive the script).
const teardown = new Teardown();
teardown.onSignals();
main(teardown).catch((error: unknown) => {
  if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
  console.error(error);
  process.exitCode = 1;
});
