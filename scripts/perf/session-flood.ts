import { join, resolve } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { connectRedis, closeRedis, waitForRedis } from '../../src/redis/connection.js';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.js';
import { processRssBytes } from '../../src/util/process.js';
import { startRole, type RoleProcess } from './fixtures.js';
import { callGetProduct, HEADERS, median, openLoop } from './load.js';
import { Teardown } from './teardown.js';

/**
 * Session floods (issue 16): N sessions created through a gateway onto
 * workers with a bounded session table, then what that costs and what it
 * keeps: worker RSS per live session and its peak against the bound, the
 * gateway's heap, Redis memory per session, the added latency of an evicted
 * session's first request (its replay), and live sessions' p99 while a flood
 * evicts, as a ratio against the same flood on unbounded workers (rounds
 * alternated, A B B A). With --baseline, another build's gateway runs beside
 * this one's and evicted sessions' first requests alternate between the two,
 * to compare re-home changes in one run.
 */
const USAGE = `Usage: node dist-dev/scripts/perf/session-flood.js [options]

  --sessions LIST   floods to run, comma-separated session counts (default 20000)
  --cap N           --max-sessions-per-worker of the flooded workers (default 5000)
  --workers N       workers behind the gateway (default 2)
  --heap-mb N       give workers NODE_OPTIONS=--max-old-space-size=N (default: Node's own limit)
  --sample N        evicted / live sessions timed after each flood (default 500)
  --seconds S       length of each live-p99 run (default 10)
  --rounds N        live-p99 rounds, evicting vs unbounded, alternated (default 2; 0 skips them)
  --baseline DIR    another built checkout (e.g. a \`git worktree\` of main): instead of the floods, run its
                    gateway beside this one's (same Redis and workers), flood the first --sessions
                    through both, and time evicted sessions' first request through each in turn
  --json            the report as JSON on stdout
  --help            this text

Examples:
  node dist-dev/scripts/perf/session-flood.js --sessions 20000,100000
  node dist-dev/scripts/perf/session-flood.js --sessions 10000 --cap 1000 --rounds 0 --baseline /tmp/old-checkout
`;

interface Args {
  sessions: number[];
  cap: number;
  workers: number;
  heapMb?: number;
  sample: number;
  seconds: number;
  rounds: number;
  baseline?: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    sessions: [20_000],
    cap: 5000,
    workers: 2,
    sample: 500,
    seconds: 10,
    rounds: 2,
    json: false,
  };
  const fail = (message: string): never => {
    process.stderr.write(`session-flood: ${message} (see --help)\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = () => argv[++i] ?? fail(`${flag} needs a value`);
    const count = (min: number) => {
      const value = Number(next());
      if (!Number.isInteger(value) || value < min) fail(`${flag} must be an integer >= ${min}`);
      return value;
    };
    if (flag === '--sessions') {
      args.sessions = next().split(',').map(Number);
      if (args.sessions.some((n) => !Number.isInteger(n) || n < 1))
        fail('--sessions takes counts like 20000,100000');
    } else if (flag === '--cap') args.cap = count(1);
    else if (flag === '--workers') args.workers = count(1);
    else if (flag === '--heap-mb') args.heapMb = count(16);
    else if (flag === '--sample') args.sample = count(1);
    else if (flag === '--seconds') args.seconds = count(1);
    else if (flag === '--rounds') args.rounds = count(0);
    else if (flag === '--baseline') args.baseline = next();
    else if (flag === '--json') args.json = true;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else fail(`unknown option ${flag}`);
  }
  return args;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'flood', version: '1' } },
});
const MB = 1024 * 1024;

interface Cluster {
  redis: LocalRedis;
  workers: RoleProcess[];
  gateway: RoleProcess;
  pool: Pool;
  /** A second gateway (another build's) on the same Redis and workers, with --baseline. */
  baseline?: { gateway: RoleProcess; pool: Pool };
  /** Stops it all (also on a failed start, and when `parent` runs first: Ctrl-C). */
  close(): Promise<void>;
}

async function startCluster(
  parent: Teardown,
  cap: number,
  workerCount: number,
  options: { heapMb?: number; baselineCli?: string } = {},
): Promise<Cluster> {
  const teardown = parent.scope();
  try {
    return await startClusterIn(teardown, cap, workerCount, options);
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

async function startClusterIn(
  teardown: Teardown,
  cap: number,
  workerCount: number,
  options: { heapMb?: number; baselineCli?: string },
): Promise<Cluster> {
  const redis = await teardown.start(startLocalRedis, (r) => r.close());
  const prefix = 'flood:';
  const start = (...role: Parameters<typeof startRole>) =>
    teardown.start(
      () => startRole(...role),
      (r: RoleProcess) => r.stop(),
    );
  const workers = await Promise.all(
    Array.from({ length: workerCount }, (_, i) =>
      start(
        'worker',
        `w${i + 1}`,
        [
          '--id',
          `w${i + 1}`,
          '--redis',
          redis.url,
          '--prefix',
          prefix,
          '--backend-latency',
          '0',
          '--max-sessions-per-worker',
          String(cap),
        ],
        // --expose-gc: live-heap figures after a full collection (status ?gc=1).
        { NODE_OPTIONS: `--expose-gc${options.heapMb ? ` --max-old-space-size=${options.heapMb}` : ''}` },
      ),
    ),
  );
  const startGateway = (name: string, cliPath?: string) =>
    start(
      'gateway',
      name,
      [
        '--redis',
        redis.url,
        '--prefix',
        prefix,
        '--max-inflight',
        '1024',
        ...workers.flatMap((w) => ['--worker', `${w.child.spec.name}=${w.url}`]),
      ],
      { NODE_OPTIONS: '--expose-gc' },
      process.env.MCP_SCALE_PERF_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean),
      cliPath,
    );
  const poolFor = (gateway: RoleProcess) => {
    const pool = new Pool(new URL(gateway.url).origin, { connections: 32 });
    teardown.add(() => pool.close());
    return pool;
  };
  const gateway = await startGateway('gateway');
  const pool = poolFor(gateway);
  let baseline: Cluster['baseline'];
  if (options.baselineCli) {
    const other = await startGateway('gateway-baseline', options.baselineCli);
    baseline = { gateway: other, pool: poolFor(other) };
  }
  return { redis, workers, gateway, pool, baseline, close: () => teardown.run() };
}

async function initialize(pool: Pool, path: string): Promise<string> {
  const response = await pool.request({ path, method: 'POST', headers: HEADERS, body: INITIALIZE });
  await response.body.text();
  const id = response.headers['mcp-session-id'];
  if (response.statusCode !== 200 || typeof id !== 'string')
    throw new Error(`initialize: HTTP ${response.statusCode}`);
  return id;
}

async function call(pool: Pool, path: string, session: string, id: number): Promise<number> {
  return (await callGetProduct(pool, path, session, id)).ms;
}

/** Runs `task` count times, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function statusOf(url: string, gc = true) {
  const response = await fetch(`${new URL(url).origin}/_mcp-scale/status${gc ? '?gc=1' : ''}`);
  return (await response.json()) as {
    memory: { heapUsed: number; rss: number; heapLimit?: number };
    sessions: { live?: number; evicted?: number; refused?: number; known?: number };
  };
}

async function redisUsedMemory(url: string): Promise<number> {
  const client = connectRedis(url);
  try {
    await waitForRedis(client);
    const info = await client.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    await closeRedis(client);
  }
}

function percentiles(values: number[]) {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const v of values) histogram.recordValue(Math.max(1, Math.round(v * 1000)));
  const ms = (q: number) => histogram.getValueAtPercentile(q) / 1000;
  const result = { p50: ms(50), p99: ms(99), max: histogram.maxValue / 1000 };
  histogram.destroy();
  return result;
}

/** One flood of `total` sessions on a fresh cluster. */
async function flood(total: number, args: Args, log: (line: string) => void, teardown: Teardown) {
  const cluster = await startCluster(teardown, args.cap, args.workers, { heapMb: args.heapMb });
  const path = new URL(cluster.gateway.url).pathname;
  try {
    // Warm code paths (and the workers' heaps) before the baselines.
    const warm: string[] = [];
    await inParallel(20, 16, async () => void warm.push(await initialize(cluster.pool, path)));
    const rssBefore = cluster.workers.map((w) => processRssBytes(w.child.pid!) ?? 0);
    const gatewayHeapBefore = (await statusOf(cluster.gateway.url)).memory.heapUsed;
    const redisBefore = await redisUsedMemory(cluster.redis.url);
    const peak = [...rssBefore];
    const sampler = setInterval(() => {
      cluster.workers.forEach((w, i) => (peak[i] = Math.max(peak[i]!, processRssBytes(w.child.pid!) ?? 0)));
    }, 200);

    const ids: string[] = new Array<string>(total);
    const started = performance.now();
    let done = 0;
    // RSS when the tables first hold the bound (before any eviction), to set the peak against.
    const bound = Math.min(total, args.cap * args.workers);
    let rssAtBound = [...rssBefore];
    let liveHeapAtBound: Promise<number[]> = Promise.resolve([]);
    await inParallel(total, 32, async (i) => {
      ids[i] = await initialize(cluster.pool, path);
      if (++done === bound) {
        rssAtBound = cluster.workers.map((w) => processRssBytes(w.child.pid!) ?? 0);
        liveHeapAtBound = Promise.all(
          cluster.workers.map(async (w) => (await statusOf(w.url)).memory.heapUsed),
        );
      }
      if (done % 10_000 === 0) log(`  ${done} / ${total} sessions`);
    });
    const floodSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);

    const rssAfter = cluster.workers.map((w) => processRssBytes(w.child.pid!) ?? 0);
    const workerStatus = await Promise.all(cluster.workers.map((w) => statusOf(w.url, false)));
    const live = workerStatus.reduce((n, s) => n + (s.sessions.live ?? 0), 0);
    const evicted = workerStatus.reduce((n, s) => n + (s.sessions.evicted ?? 0), 0);
    const gateway = await statusOf(cluster.gateway.url);
    // Live data after a full collection: the same bound's worth at the end as when the tables filled?
    const liveHeapAfter = await Promise.all(
      cluster.workers.map(async (w) => (await statusOf(w.url)).memory.heapUsed),
    );
    const heapLimit = (await statusOf(cluster.workers[0]!.url, false)).memory.heapLimit;
    const redisAfter = await redisUsedMemory(cluster.redis.url);

    // The first request of an evicted session (the oldest ones) against a live session's (the newest).
    const sample = Math.min(args.sample, Math.floor(total / 4));
    const liveLatency: number[] = [];
    await inParallel(
      sample,
      8,
      async (i) => void liveLatency.push(await call(cluster.pool, path, ids[total - 1 - i]!, 1)),
    );
    const evictedLatency: number[] = [];
    let failures = 0;
    await inParallel(sample, 8, async (i) => {
      try {
        evictedLatency.push(await call(cluster.pool, path, ids[i]!, 1));
      } catch {
        failures++;
      }
    });
    // One at a time, live and evicted alternated: the re-home's own cost, without queueing.
    const serial = Math.max(0, Math.min(200, total - args.cap * args.workers - sample, total - 2 * sample));
    const liveSerial: number[] = [];
    const evictedSerial: number[] = [];
    for (let i = 0; i < serial; i++) {
      liveSerial.push(await call(cluster.pool, path, ids[total - 1 - sample - i]!, 1));
      try {
        evictedSerial.push(await call(cluster.pool, path, ids[sample + i]!, 1));
      } catch {
        failures++;
      }
    }
    const liveMedian = median(liveLatency);
    const workerRssPerLiveSession =
      rssAfter.reduce((a, b) => a + b, 0) - rssBefore.reduce((a, b) => a + b, 0);
    return {
      sessions: total,
      floodSeconds,
      sessionsPerSecond: total / floodSeconds,
      cap: args.cap,
      workers: args.workers,
      liveSessions: live,
      evicted,
      workerRssBeforeMb: rssBefore.map((b) => b / MB),
      workerRssAfterMb: rssAfter.map((b) => b / MB),
      workerPeakRssMb: peak.map((b) => b / MB),
      workerRssAtBoundMb: rssAtBound.map((b) => b / MB),
      workerLiveHeapAtBoundMb: (await liveHeapAtBound).map((b) => b / MB),
      workerLiveHeapAfterMb: liveHeapAfter.map((b) => b / MB),
      workerHeapLimitMb: (heapLimit ?? 0) / MB,
      workerRssPerLiveSessionKb: workerRssPerLiveSession / Math.max(1, live) / 1024,
      gatewayHeapBeforeMb: gatewayHeapBefore / MB,
      gatewayHeapAfterMb: gateway.memory.heapUsed / MB,
      gatewayRecordsInMemory: gateway.sessions.known,
      redisBytesPerSession: (redisAfter - redisBefore) / total,
      liveRequest: percentiles(liveLatency),
      evictedFirstRequest: percentiles(evictedLatency),
      evictedAddedMs: {
        p50: percentiles(evictedLatency).p50 - liveMedian,
        p99: percentiles(evictedLatency).p99 - liveMedian,
      },
      evictedFailures: failures,
      oneAtATime: {
        liveRequest: percentiles(liveSerial),
        evictedFirstRequest: percentiles(evictedSerial),
        evictedAddedMs: {
          p50: percentiles(evictedSerial).p50 - median(liveSerial),
          p99: percentiles(evictedSerial).p99 - median(liveSerial),
        },
      },
    };
  } finally {
    await cluster.close();
  }
}

/**
 * Re-home A/B in one run: this build's gateway and a baseline build's share
 * one Redis and the same workers; `total` sessions are created, then the
 * oldest (evicted) ones make their first request through the two gateways
 * in turn, one at a time and then 8 at a time, so both see the same machine.
 */
async function rehomeAb(total: number, args: Args, log: (line: string) => void, teardown: Teardown) {
  const cluster = await startCluster(teardown, args.cap, args.workers, {
    heapMb: args.heapMb,
    baselineCli: join(resolve(args.baseline!), 'bin', 'mcp-scale.js'),
  });
  const path = new URL(cluster.gateway.url).pathname;
  const baseline = cluster.baseline!;
  try {
    const ids: string[] = new Array<string>(total);
    let done = 0;
    await inParallel(total, 32, async (i) => {
      ids[i] = await initialize(i % 2 === 0 ? cluster.pool : baseline.pool, path);
      if (++done % 10_000 === 0) log(`  ${done} / ${total} sessions`);
    });
    const evictedCount = total - args.cap * args.workers;
    const sample = Math.min(args.sample, Math.floor(evictedCount / 2));
    const times = {
      baseline: { serial: [] as number[], eight: [] as number[] },
      current: { serial: [] as number[], eight: [] as number[] },
    };
    let failures = 0;
    const timed = async (i: number, into: 'serial' | 'eight') => {
      const which = i % 2 === 0 ? 'baseline' : 'current';
      try {
        times[which][into].push(
          await call(which === 'baseline' ? baseline.pool : cluster.pool, path, ids[i]!, 1),
        );
      } catch {
        failures++;
      }
    };
    for (let i = 0; i < sample; i++) await timed(i, 'serial');
    await inParallel(sample, 8, (i) => timed(sample + i, 'eight'));
    return {
      sessions: total,
      sample,
      failures,
      baseline: {
        oneAtATime: percentiles(times.baseline.serial),
        eightAtATime: percentiles(times.baseline.eight),
      },
      current: {
        oneAtATime: percentiles(times.current.serial),
        eightAtATime: percentiles(times.current.eight),
      },
    };
  } finally {
    await cluster.close();
  }
}

/** Live sessions' p99 under an open-model load while a flood creates sessions in the background. */
async function liveUnderFlood(cap: number, args: Args, teardown: Teardown) {
  const cluster = await startCluster(teardown, cap, args.workers, { heapMb: args.heapMb });
  const path = new URL(cluster.gateway.url).pathname;
  try {
    const hot: string[] = [];
    for (let i = 0; i < 20; i++) hot.push(await initialize(cluster.pool, path));
    let stop = false;
    let created = 0;
    const background = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!stop) {
          await initialize(cluster.pool, path);
          created++;
        }
      }),
    );
    const result = await openLoop(cluster.gateway.url, hot, 100, args.seconds * 1000);
    stop = true;
    await background;
    const evicted = (await Promise.all(cluster.workers.map((w) => statusOf(w.url, false)))).reduce(
      (n, s) => n + (s.sessions.evicted ?? 0),
      0,
    );
    return { cap, p50: result.p50, p99: result.p99, errors: result.errors, created, evicted };
  } finally {
    await cluster.close();
  }
}

async function main(teardown: Teardown): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  const floods = [];
  for (const total of args.baseline ? [] : args.sessions) {
    log(`flood: ${total} sessions, ${args.workers} workers capped at ${args.cap}…`);
    floods.push(await flood(total, args, log, teardown));
  }
  // Re-home A/B: a baseline build's gateway and this one's, requests alternated, in one cluster.
  let ab: Awaited<ReturnType<typeof rehomeAb>> | undefined;
  if (args.baseline) {
    log(`re-home A/B: ${args.sessions[0]} sessions through this build's gateway and ${args.baseline}'s…`);
    ab = await rehomeAb(args.sessions[0]!, args, log, teardown);
  }
  // Live p99 with eviction (a small cap the flood keeps full) vs without (unbounded), A B B A.
  const evictingCap = 200;
  type LiveResult = Awaited<ReturnType<typeof liveUnderFlood>>;
  const rounds: { evicting: LiveResult; unbounded: LiveResult; p99Ratio: number }[] = [];
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? [evictingCap, 0] : [0, evictingCap];
    const results = new Map<number, LiveResult>();
    for (const cap of order) {
      log(`live sessions under a flood, round ${round + 1}, cap ${cap === 0 ? 'unbounded' : cap}…`);
      results.set(cap, await liveUnderFlood(cap, args, teardown));
    }
    const evicting = results.get(evictingCap)!;
    const unbounded = results.get(0)!;
    rounds.push({ evicting, unbounded, p99Ratio: evicting.p99 / unbounded.p99 });
  }
  const report = {
    floods,
    ...(ab ? { rehomeAb: ab } : {}),
    liveP99: { rounds, medianRatio: rounds.length ? median(rounds.map((r) => r.p99Ratio)) : undefined },
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const f1 = (n: number) => n.toFixed(1);
  for (const f of floods) {
    console.log(
      `\n${f.sessions} sessions in ${f1(f.floodSeconds)}s (${Math.round(f.sessionsPerSecond)}/s), ${f.workers} workers capped at ${f.cap}:`,
    );
    console.log(`  live ${f.liveSessions}, evicted ${f.evicted}`);
    console.log(
      `  worker RSS before ${f.workerRssBeforeMb.map(f1).join(' / ')} MB, after ${f.workerRssAfterMb.map(f1).join(' / ')} MB, peak ${f.workerPeakRssMb.map(f1).join(' / ')} MB`,
    );
    console.log(
      `  worker RSS when the tables first held the bound ${f.workerRssAtBoundMb.map(f1).join(' / ')} MB; peak / that: ${f.workerPeakRssMb.map((p, i) => (p / f.workerRssAtBoundMb[i]!).toFixed(2)).join(' / ')}`,
    );
    console.log(`  worker RSS per live session ${f1(f.workerRssPerLiveSessionKb)} KB`);
    console.log(
      `  worker live heap after a full GC: when the tables first held the bound ${f.workerLiveHeapAtBoundMb.map(f1).join(' / ')} MB, at the end ${f.workerLiveHeapAfterMb.map(f1).join(' / ')} MB (V8 heap limit ${f1(f.workerHeapLimitMb)} MB)`,
    );
    console.log(
      `  gateway heap ${f1(f.gatewayHeapBeforeMb)} -> ${f1(f.gatewayHeapAfterMb)} MB (${f.gatewayRecordsInMemory} records in memory)`,
    );
    console.log(`  Redis ${Math.round(f.redisBytesPerSession)} bytes per session`);
    console.log(
      `  8 at a time: live request p50 ${f1(f.liveRequest.p50)} ms p99 ${f1(f.liveRequest.p99)} ms`,
    );
    console.log(
      `  8 at a time: evicted session's first request p50 ${f1(f.evictedFirstRequest.p50)} ms p99 ${f1(f.evictedFirstRequest.p99)} ms (added p50 ${f1(f.evictedAddedMs.p50)} ms, p99 ${f1(f.evictedAddedMs.p99)} ms), failures ${f.evictedFailures}`,
    );
    const o = f.oneAtATime;
    console.log(
      `  one at a time: live p50 ${f1(o.liveRequest.p50)} ms p99 ${f1(o.liveRequest.p99)} ms; evicted first request p50 ${f1(o.evictedFirstRequest.p50)} ms p99 ${f1(o.evictedFirstRequest.p99)} ms (added p50 ${f1(o.evictedAddedMs.p50)} ms, p99 ${f1(o.evictedAddedMs.p99)} ms)`,
    );
  }
  if (ab) {
    const line = (label: string, p: { p50: number; p99: number }) =>
      `${label} p50 ${f1(p.p50)} ms p99 ${f1(p.p99)} ms`;
    console.log(
      `\nre-home A/B, evicted sessions' first request (${ab.sample} per line, the two gateways alternated; failures ${ab.failures}):`,
    );
    console.log(
      `  one at a time: ${line('baseline', ab.baseline.oneAtATime)}; ${line('this build', ab.current.oneAtATime)}`,
    );
    console.log(
      `  8 at a time:   ${line('baseline', ab.baseline.eightAtATime)}; ${line('this build', ab.current.eightAtATime)}`,
    );
  }
  for (const [i, r] of rounds.entries()) {
    console.log(
      `\nlive p99 round ${i + 1}: evicting ${f1(r.evicting.p99)} ms (${r.evicting.evicted} evicted) vs unbounded ${f1(r.unbounded.p99)} ms: ratio ${r.p99Ratio.toFixed(2)}`,
    );
  }
  if (report.liveP99.medianRatio !== undefined)
    console.log(`live p99 ratio, median of rounds: ${report.liveP99.medianRatio.toFixed(2)}`);
}

const teardown = new Teardown();
teardown.onSignals();
main(teardown).catch((error: unknown) => {
  if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
  console.error(error);
  process.exitCode = 1;
});
