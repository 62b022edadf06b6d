import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { classifyPost, isRejection } from '../../src/protocol/classify.js';
import { GatewayLimiter } from '../../src/limits/gateway-limiter.js';
import { policiesFrom } from '../../src/limits/policies.js';
import { parseRate } from '../../src/config/rate.js';
import { startLocalRedis } from '../../src/redis/local-server.js';
import { startGatewayFor, startRole, startWorker, type RoleProcess } from './fixtures.js';
import { closeSessions, median, openLoop, openSessions, saturate } from './load.js';
import { Teardown } from './teardown.js';

/**
 * What the rate limiter costs: two gateway processes in front of the same
 * worker and Redis, one with `--rate-limit` (a budget nobody reaches, so
 * every call pays one EVALSHA and is admitted) and one without, measured in
 * one run, alternated round by round (ABBA order), after a warm-up. 2025
 * tools/call of a cheap tool (get_product, --backend-latency 0), one session
 * per connection, a distinct JSON-RPC id per request.
 *
 *   npm run build && npm run build:scripts && node dist-dev/scripts/perf/limits-cost.js [--rounds 4] [--seconds 5] [--json]
 *
 * Reported: saturation throughput and p50/p99 at a fixed open-loop rate
 * (40% of the unlimited gateway's saturation), each as the median of the
 * per-round ratios limits-on / limits-off.
 */
interface Args {
  rounds: number;
  seconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 4, seconds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') args.rounds = Math.max(3, Number(argv[++i]));
    else if (argv[i] === '--seconds') args.seconds = Number(argv[++i]);
    else if (argv[i] === '--json') args.json = true;
  }
  return args;
}

type Variant = 'off' | 'on';
/**
 * Connections (one session each). Below saturation of the worker's health
 * endpoint on a small machine: at 50, a starved worker can miss the
 * gateway's 2 s health check and the run measures 503s instead.
 */
const CONNECTIONS = 16;
/** A budget no run reaches: every call is counted and admitted. */
const UNREACHABLE_LIMIT = '1000000000/1h';

/**
 * The script (exported for the test that interrupts it): everything it
 * starts is registered in `teardown` as soon as it is up, and stopped when
 * it ends, fails, or `teardown` runs first (Ctrl-C).
 */
export async function runLimitsCost(argv: string[], teardown: Teardown): Promise<void> {
  const args = parseArgs(argv);
  const log = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  try {
    const redis = await teardown.start(startLocalRedis, (r) => r.close());
    const prefix = 'perf-limits:';
    const stop = (role: RoleProcess) => role.stop();
    const worker = await teardown.start(() => startWorker('w1', redis.url, prefix), stop);
    const workers = [{ id: 'w1', url: worker.url }];
    const off = await teardown.start(() => startGatewayFor(workers, redis.url, prefix), stop);
    const on = await teardown.start(
      () =>
        startRole('gateway', 'gateway-limits', [
          '--redis',
          redis.url,
          '--prefix',
          prefix,
          '--worker',
          `w1=${worker.url}`,
          '--rate-limit',
          UNREACHABLE_LIMIT,
        ]),
      stop,
    );
    const targets: Record<Variant, string> = { off: off.url, on: on.url };
    const sessions: Record<Variant, string[]> = {
      off: await openSessions(off.url, CONNECTIONS),
      on: await openSessions(on.url, CONNECTIONS),
    };
    // Proof the limiter is in the path: an admitted call carries RateLimit.
    const probe = await fetch(on.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessions.on[0] as string,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'tools/list' }),
    });
    await probe.text();
    const rateLimitHeader = probe.headers.get('ratelimit');
    if (!rateLimitHeader) throw new Error('the limited gateway sent no RateLimit header');

    log(`warm-up (${args.seconds}s per gateway)…`);
    for (const variant of ['off', 'on'] as const)
      await saturate(targets[variant], sessions[variant], args.seconds * 1000);

    const order = (round: number): Variant[] => (round % 2 ? ['off', 'on'] : ['on', 'off']);
    let discarded = 0;
    /**
     * One valid round per call: both variants back to back. A round in which
     * either saw an error (a 503 from a worker that missed its health check
     * on a starved machine) measures failures, not the limiter: it is run again.
     */
    const measure = async <T extends { errors: number }>(
      label: string,
      run: (variant: Variant) => Promise<T>,
      describe: (result: T) => string,
    ): Promise<Record<Variant, T>[]> => {
      const rounds: Record<Variant, T>[] = [];
      for (let attempt = 1; rounds.length < args.rounds; attempt++) {
        if (attempt > args.rounds * 3) throw new Error(`too many failed ${label} rounds (${discarded})`);
        const round = {} as Record<Variant, T>;
        for (const variant of order(rounds.length + 1)) round[variant] = await run(variant);
        const failed = round.off.errors + round.on.errors > 0;
        if (failed) discarded++;
        log(
          `${label} round ${rounds.length + 1}${failed ? ' (errors: run again)' : ''}: off ${describe(round.off)}, on ${describe(round.on)}`,
        );
        if (!failed) rounds.push(round);
      }
      return rounds;
    };

    const saturation = await measure(
      'saturation',
      (variant) => saturate(targets[variant], sessions[variant], args.seconds * 1000),
      (r) => `${r.rps.toFixed(0)} calls/s${r.errors ? ` (${r.errors} errors)` : ''}`,
    );
    const rps: Record<Variant, number[]> = {
      off: saturation.map((r) => r.off.rps),
      on: saturation.map((r) => r.on.rps),
    };
    const rate = Math.round(median(rps.off) * 0.4);
    const latency = await measure(
      `${rate}/s`,
      (variant) => openLoop(targets[variant], sessions[variant], rate, args.seconds * 1000),
      (r) =>
        `p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms${r.errors ? ` (${r.errors} errors)` : ''}`,
    );
    const p50: Record<Variant, number[]> = {
      off: latency.map((r) => r.off.p50),
      on: latency.map((r) => r.on.p50),
    };
    const p99: Record<Variant, number[]> = {
      off: latency.map((r) => r.off.p99),
      on: latency.map((r) => r.on.p99),
    };
    for (const variant of ['off', 'on'] as const) await closeSessions(targets[variant], sessions[variant]);
    const alone = await limiterAlone(redis.url, 5000);
    log(`limiter alone: admit() p50 ${alone.p50Ms.toFixed(3)} ms, p99 ${alone.p99Ms.toFixed(3)} ms`);

    const ratio = (series: Record<Variant, number[]>) =>
      median(series.on.map((value, i) => value / (series.off[i] as number)));
    const report = {
      machine: { cpus: os.cpus().length, node: process.version },
      settings: {
        rounds: args.rounds,
        secondsPerMeasurement: args.seconds,
        connections: CONNECTIONS,
        tool: 'get_product',
        backendLatencyMs: 0,
        limit: UNREACHABLE_LIMIT,
        rateLimitHeaderSample: rateLimitHeader,
      },
      throughput: {
        callsPerSecond: { off: median(rps.off), on: median(rps.on) },
        perRound: rps,
        onOverOff: ratio(rps),
      },
      latencyAt40Percent: {
        ratePerSecond: rate,
        p50Ms: { off: median(p50.off), on: median(p50.on), onOverOff: ratio(p50) },
        p99Ms: { off: median(p99.off), on: median(p99.on), onOverOff: ratio(p99) },
      },
      limiterAlone: alone,
      discardedRounds: discarded,
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const t = report.throughput;
    const l = report.latencyAt40Percent;
    console.log(`
rate limiter cost (${report.machine.cpus} cores, ${report.machine.node}, median of ${args.rounds} alternated rounds, ${CONNECTIONS} connections)
  throughput at saturation
    limits off  ${t.callsPerSecond.off.toFixed(0)} calls/s
    limits on   ${t.callsPerSecond.on.toFixed(0)} calls/s   = ${t.onOverOff.toFixed(3)}x
  latency at ${l.ratePerSecond}/s (40% of the unlimited gateway's saturation), from the intended send time
    p50  off ${l.p50Ms.off.toFixed(2)} ms, on ${l.p50Ms.on.toFixed(2)} ms   = ${l.p50Ms.onOverOff.toFixed(3)}x
    p99  off ${l.p99Ms.off.toFixed(2)} ms, on ${l.p99Ms.on.toFixed(2)} ms   = ${l.p99Ms.onOverOff.toFixed(3)}x
  the limiter alone, in process: admit() p50 ${alone.p50Ms.toFixed(3)} ms, p99 ${alone.p99Ms.toFixed(3)} ms (${alone.calls} sequential calls, one EVALSHA each)
  rounds run again because of errors: ${discarded}
`);
  } finally {
    await teardown.run();
  }
}

/** The limiter without HTTP around it: sequential admit() of one tools/call against the same Redis. */
async function limiterAlone(redisUrl: string, calls: number) {
  const limiter = await GatewayLimiter.create({
    policies: policiesFrom({
      rateLimit: parseRate(UNREACHABLE_LIMIT),
      toolLimits: {},
      toolCosts: {},
      onRedisFailure: 'local',
    }),
    redisUrl,
    prefix: 'perf-limits-alone:',
    onRedisFailure: 'local',
  });
  const classified = classifyPost(
    {},
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_product', arguments: {} } },
  );
  if (isRejection(classified)) throw new Error(classified.message);
  const request = { req: {} as IncomingMessage, clientIp: '127.0.0.1', era: classified.era, classified };
  const durations: number[] = [];
  try {
    for (let i = 0; i < calls + 500; i++) {
      const started = performance.now();
      const result = await limiter.admit(request);
      if (!result.ok) throw new Error('the limiter refused a call under an unreachable limit');
      if (i >= 500) durations.push(performance.now() - started); // the first 500 warm up
    }
  } finally {
    await limiter.close();
  }
  durations.sort((a, b) => a - b);
  const at = (q: number) =>
    durations[Math.min(durations.length - 1, Math.floor((q / 100) * durations.length))] as number;
  return { calls, p50Ms: at(50), p99Ms: at(99) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const teardown = new Teardown();
  teardown.onSignals();
  runLimitsCost(process.argv.slice(2), teardown).catch((error: unknown) => {
    if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
    console.error(error);
    process.exitCode = 1;
  });
}
