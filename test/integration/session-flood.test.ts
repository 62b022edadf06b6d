import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { processRssBytes } from '../../src/util/process.js';
import { inParallel, rawInitialize, rawRequest } from '../helpers/raw-mcp.js';
import { startTestRedis } from '../helpers/redis.js';
import { metricTotal, startTestGateway, startWorkerProcess, type WorkerProcess } from '../helpers/roles.js';

const PREFIX = 'flood:';
/** The figures: 5,000 sessions against two workers capped at 500 each. */
const SESSIONS = 5000;
const CAP = 500;
/**
 * The workers' V8 heap limit. A worker holding its 500 sessions has ~62 MB of
 * live heap; one holding all 2,500 of its share (~56 KB each) would need
 * ~170 MB and die of this limit. Twice the bounded live data leaves V8 room
 * to collect without thrashing (at 80 MB the replays cost three times the CPU).
 */
const HEAP_LIMIT_MB = 128;
/** Node's own footprint beyond the old space: code, young generation, buffers, allocator slack. */
const FIXED_OVERHEAD_MB = 128;
const CONCURRENCY = 16;

interface WorkerStatus {
  sessions: { live: number; idle: number; max: number; evicted: number; refused: number };
  memory: { heapUsed: number; rss: number; heapLimit: number };
}

/** The worker's status; `gc` collects first (the workers run with --expose-gc) so heap figures are live data. */
async function workerStatus(worker: WorkerProcess, gc = false): Promise<WorkerStatus> {
  const url = `http://127.0.0.1:${worker.port}/_mcp-scale/status${gc ? '?gc=1' : ''}`;
  return (await fetch(url).then((r) => r.json())) as WorkerStatus;
}

/**
 * Watches the workers while the flood runs: the most live sessions each
 * reported and its peak RSS, so the bounds are checked throughout, not only
 * at the end.
 */
function watch(workers: WorkerProcess[]) {
  const maxLive = workers.map(() => 0);
  const peakRss = workers.map(() => 0);
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    const statuses = await Promise.all(workers.map((w) => workerStatus(w)));
    statuses.forEach((status, i) => {
      maxLive[i] = Math.max(maxLive[i]!, status.sessions.live);
      peakRss[i] = Math.max(peakRss[i]!, processRssBytes(workers[i]!.pid) ?? 0);
    });
  };
  const timer = setInterval(() => {
    polling = polling.then(poll, poll);
  }, 100);
  return {
    maxLive,
    peakRss,
    async stop() {
      clearInterval(timer);
      await polling.then(poll); // one last look at the final state
    },
  };
}

/**
 * The flood: 5,000 sessions through a gateway onto two workers
 * capped at 500 live sessions each. Workers stay bounded throughout, and
 * every session still answers afterwards under its own id (evicted ones are
 * replayed).
 */
describe('a session flood of 5,000 against workers capped at 500 sessions', () => {
  let redis: LocalRedis;
  let workers: WorkerProcess[] = [];
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    workers = await Promise.all(
      ['w1', 'w2'].map((id) =>
        startWorkerProcess({
          id,
          redisUrl: redis.url,
          prefix: PREFIX,
          args: ['--max-sessions-per-worker', String(CAP)],
          env: { NODE_OPTIONS: `--expose-gc --max-old-space-size=${HEAP_LIMIT_MB}` },
        }),
      ),
    );
    gateway = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
      // Smaller than the flood: the gateway's own records are an LRU in front of Redis.
      sessionCacheSize: 1000,
      sessionTtlMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await redis?.close();
  });

  it('keeps each worker at most 500 live sessions with bounded RSS, and all 5,000 sessions answer with their own id', async () => {
    // Baseline once the code paths are warm: the first full tables.
    const ids = await inParallel(
      CAP * 2,
      CONCURRENCY,
      async () => (await rawInitialize(gateway.url)).sessionId!,
    );
    const heapAtCap = await Promise.all(
      workers.map(async (w) => (await workerStatus(w, true)).memory.heapUsed),
    );

    const watcher = watch(workers);
    const more = await inParallel(SESSIONS - ids.length, CONCURRENCY, async () => {
      const opened = await rawInitialize(gateway.url);
      expect(opened.status).toBe(200);
      return opened.sessionId!;
    });
    ids.push(...more);
    expect(new Set(ids).size).toBe(SESSIONS);

    for (const worker of workers) {
      const status = await workerStatus(worker);
      // The premise of the RSS check: the workers really run under the small heap limit.
      expect(status.memory.heapLimit).toBeLessThan((HEAP_LIMIT_MB + 64) * 1024 * 1024);
      expect(status.sessions.max).toBe(CAP);
      expect(status.sessions.live).toBe(CAP);
      expect(status.sessions.refused).toBe(0);
    }
    const evicted = (await Promise.all(workers.map((w) => workerStatus(w)))).reduce(
      (n, s) => n + s.sessions.evicted,
      0,
    );
    // Everything beyond the two tables was made room for by evicting an idle session.
    expect(evicted).toBe(SESSIONS - 2 * CAP);

    // Every session answers, under the id its client holds: evicted ones are
    // replayed first. Newest first: the sessions still live answer before the
    // replays (each of which evicts a session on its new worker) push them out,
    // so the 1,000 live ones answer in place and the 4,000 evicted ones by replay.
    const rehomesBefore = await metricTotal(
      gateway.url.replace(/\/mcp$/, '/metrics'),
      'mcp_scale_gateway_session_rehomes_total',
    );
    const newestFirst = [...ids].reverse();
    const failures: string[] = [];
    await inParallel(SESSIONS, CONCURRENCY, async (i) => {
      const id = newestFirst[i]!;
      const answer = await rawRequest(gateway.url, id, 'tools/call', {
        name: 'get_product',
        arguments: { id: 'p00001' },
      });
      const sessionHeader = answer.headers.get('mcp-session-id');
      if (answer.status !== 200 || !answer.messages[0]?.result || answer.messages[0].error)
        failures.push(`${id}: HTTP ${answer.status} ${JSON.stringify(answer.messages[0])}`);
      // The worker names its session on every answer; the gateway shows the client's id, replayed or not.
      else if (sessionHeader !== id) failures.push(`${id} answered as ${sessionHeader}`);
    });
    await watcher.stop();
    expect(failures).toEqual([]);

    const replayed =
      (await metricTotal(
        gateway.url.replace(/\/mcp$/, '/metrics'),
        'mcp_scale_gateway_session_rehomes_total',
      )) - rehomesBefore;
    // At most 1,000 of the 5,000 were live; every other one came back by replay
    // (a few more when a worker's share of the newest 1,000 was not exactly 500).
    expect(replayed).toBeGreaterThanOrEqual(SESSIONS - 2 * CAP);
    expect(replayed).toBeLessThan(SESSIONS);
    expect(gateway.status().sessions.known).toBeLessThanOrEqual(1000);

    // Live data after a full collection is the same 500 sessions' worth as
    // when the tables first filled (unbounded: +2,000 sessions, ~110 MB).
    const heapAfter = await Promise.all(
      workers.map(async (w) => (await workerStatus(w, true)).memory.heapUsed),
    );
    for (let i = 0; i < workers.length; i++) {
      // Never above the cap while the flood and the replays ran.
      expect(watcher.maxLive[i]).toBe(CAP);
      expect(heapAfter[i]! - heapAtCap[i]!).toBeLessThan(20 * 1024 * 1024);
      // Still the same processes (an out-of-memory death would have failed the calls above).
      expect(workers[i]!.process.exitCode).toBeNull();
      expect(watcher.peakRss[i]).toBeGreaterThan(0);
      expect(watcher.peakRss[i]).toBeLessThan((HEAP_LIMIT_MB + FIXED_OVERHEAD_MB) * 1024 * 1024);
    }
  }, 360_000);
});
