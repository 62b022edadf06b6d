import { afterEach, describe, expect, it } from 'vitest';
import { BenchEngine, runBench } from '../../src/bench/engine.js';
import { ArrivalSchedule } from '../../src/bench/load-profile.js';
import { benchOptions } from '../helpers/bench-options.js';
import { startBenchProxy } from '../helpers/bench-proxy.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * The engine against real SDK servers that count what they served: every
 * number the bench reports here is held against the servers' own counts.
 */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function server(options: Parameters<typeof startBenchServer>[0]): Promise<BenchServer> {
  const started = await startBenchServer(options);
  closers.push(() => started.close());
  return started;
}

const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);

describe('bench engine', () => {
  it('reports per-instance requests equal to what each server behind a round-robin proxy served (2026 era)', async () => {
    const a = await server({ sdk: 'v2', instanceId: 'alpha' });
    const b = await server({ sdk: 'v2', instanceId: 'beta' });
    const proxy = await startBenchProxy([a.url, b.url], 'round-robin');
    closers.push(() => proxy.close());

    const report = await runBench(benchOptions(proxy.url, { era: '2026', clients: 4, iterations: 120 }), {
      url: proxy.url,
    });

    expect(report.totals.errors).toBe(0);
    expect(report.totals.iterations).toBe(120);
    expect(report.instances).toEqual({ alpha: a.counts.requests, beta: b.counts.requests });
    expect(report.totals.requests).toBe(a.counts.requests + b.counts.requests);
    expect(report.latency.byMethod['server/discover']?.count).toBe(4);
    expect(report.eras['2026'].protocolVersions).toEqual({ '2026-07-28': 4 });
    for (const [tool, summary] of Object.entries(report.latency.byTool)) {
      expect(summary.count).toBe((a.counts.byTool[tool] ?? 0) + (b.counts.byTool[tool] ?? 0));
    }
  });

  it('counts 2025 sessions opened as the server created them, none lost, none moved', async () => {
    const s = await server({ sdk: 'v1', instanceId: 'solo' });
    const report = await runBench(benchOptions(s.url, { era: '2025', clients: 3, iterations: 60 }), {
      url: s.url,
    });

    expect(report.totals.errors).toBe(0);
    expect(report.sessions).toMatchObject({ opened: 3, kept: 3, lost: 0, instanceChanges: 0 });
    expect(s.counts.sessionsCreated).toBe(3);
    expect(report.totals.requests).toBe(s.counts.requests);
    expect(report.instances).toEqual({ solo: s.counts.requests });
    expect(Object.keys(report.eras['2025'].protocolVersions)).toHaveLength(1);
  });

  it('splits users between eras exactly as --mix asks', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'both' });
    const report = await runBench(
      benchOptions(s.url, { mix: '2025=70,2026=30', clients: 10, iterations: 40 }),
      {
        url: s.url,
      },
    );

    expect(report.eras['2025'].virtualUsers).toBe(7);
    expect(report.eras['2026'].virtualUsers).toBe(3);
    expect(report.latency.byMethod.initialize?.count).toBe(s.counts.byMethod.initialize);
    expect(s.counts.byMethod.initialize).toBe(7);
    expect(s.counts.byMethod['server/discover']).toBe(3);
    expect(report.totals.errors).toBe(0);
  });

  it('counts 429s with and without Retry-After and their JSON-RPC code as the server sent them', async () => {
    const bare = await server({ sdk: 'v2', instanceId: 'bare', admitRequests: 5 });
    const polite = await server({ sdk: 'v2', instanceId: 'polite', admitRequests: 5, retryAfterSeconds: 0 });
    const flags = { era: '2026' as const, scenario: 'ratelimit' as const, clients: 2, iterations: 30 };
    const withoutHeader = await runBench(benchOptions(bare.url, flags), { url: bare.url });
    const withHeader = await runBench(benchOptions(polite.url, flags), { url: polite.url });

    // 2 handshakes and 3 calls admitted, the other 27 calls limited.
    const limited = bare.counts.limited;
    expect(limited).toBe(27);
    expect(withoutHeader.rateLimit).toMatchObject({ limited, withRetryAfter: 0, withoutRetryAfter: limited });
    expect(withoutHeader.rateLimit.rpcCodes).toEqual({ '-32029': limited });
    expect(withoutHeader.errors.byKind.http_429).toBe(limited);
    expect(polite.counts.limitedWithRetryAfter).toBe(27);
    expect(withHeader.rateLimit).toMatchObject({ limited: 27, withRetryAfter: 27, withoutRetryAfter: 0 });
    expect(withHeader.rateLimit.headersSeen['retry-after']).toBe('0');
  });

  it('reads cache hits from the _meta the server marked', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'cached', markCache: true });
    const report = await runBench(
      benchOptions(s.url, { era: '2026', scenario: 'cache', clients: 3, iterations: 90 }),
      {
        url: s.url,
      },
    );

    expect(report.cache.hits).toBe(s.counts.cacheHits);
    expect(report.cache.misses).toBe(s.counts.cacheMisses);
    expect(report.cache.hits + report.cache.misses).toBe(90);
    expect(report.cache.unmarked).toBe(0);
    expect(report.cache.hitRatio).toBeCloseTo(s.counts.cacheHits / 90, 6);
  });

  it('drops arrivals when the pool is exhausted (open model) and measures from the scheduled time', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'slow', delayMs: 200 });
    const options = benchOptions(s.url, {
      era: '2026',
      scenario: 'cache',
      rate: '40/s',
      duration: 1000,
      maxClients: 2,
      preAllocate: 2,
    });
    const report = await runBench(options, { url: s.url });
    const arrivals = new ArrivalSchedule(options.model.kind === 'open' ? options.model.stages : [])
      .totalArrivals;

    expect(arrivals).toBe(40);
    expect(report.totals.dropped).toBeGreaterThan(0);
    expect(report.totals.iterations + report.totals.dropped).toBe(arrivals);
    expect(s.counts.byMethod['tools/call']).toBe(report.totals.iterations);
    expect(report.latency.all.p50).toBeGreaterThanOrEqual(200);
  });

  it('counts a lost session once, then re-initializes (or keeps failing with --no-reinit-on-404)', async () => {
    for (const reinitOn404 of [true, false]) {
      const s = await server({ sdk: 'v1', instanceId: 'forgetful' });
      const engine = new BenchEngine(
        benchOptions(s.url, { era: '2025', clients: 2, iterations: 40, reinitOn404 }),
        {
          url: s.url,
        },
      );
      let calls = 0;
      engine.on('response', (record) => {
        if (record.method !== 'initialize' && ++calls === 10) s.dropSessions();
      });
      const report = await engine.run();

      expect(report.sessions.lost).toBe(2);
      expect(report.sessions.opened).toBe(s.counts.sessionsCreated);
      expect(report.errors.byKind.http_404).toBe(s.counts.sessionNotFound);
      if (reinitOn404) {
        expect(s.counts.sessionsCreated).toBe(4);
        expect(report.errors.byKind.http_404).toBe(2);
      } else {
        // Every later call fails on its dead session; only the first 404 per session is a loss.
        expect(s.counts.sessionsCreated).toBe(2);
        expect(report.errors.byKind.http_404).toBeGreaterThan(20);
      }
    }
  });

  it('opens and deletes a session per call with --session-per-call', async () => {
    const s = await server({ sdk: 'v1', instanceId: 'fresh' });
    const report = await runBench(
      benchOptions(s.url, { era: '2025', clients: 2, iterations: 10, sessionPerCall: true }),
      { url: s.url },
    );

    expect(report.totals.errors).toBe(0);
    expect(report.sessions.opened).toBe(10);
    expect(s.counts.sessionsCreated).toBe(10);
    expect(s.openSessions()).toBe(0);
  });

  it('waits out Retry-After after a 429 unless told to ignore it, and never sends before its time', async () => {
    const calls: Record<string, number> = {};
    let sentEarly = 0;
    for (const ignoreRetryAfter of [false, true]) {
      // Even the handshake is limited: the user waits out Retry-After before connecting again.
      const s = await server({ sdk: 'v2', instanceId: 'strict', admitRequests: 0, retryAfterSeconds: 1 });
      const engine = new BenchEngine(
        benchOptions(s.url, {
          era: '2026',
          scenario: 'ratelimit',
          clients: 1,
          duration: 1500,
          ignoreRetryAfter,
        }),
        { url: s.url },
      );
      engine.on('response', (record) => {
        if (record.at < record.intendedAt) sentEarly += 1;
      });
      await engine.run();
      calls[String(ignoreRetryAfter)] = s.counts.limited;
    }
    // Honouring a 1 s Retry-After leaves room for at most two calls in 1.5 s (the third is due after the end).
    expect(calls.false).toBeGreaterThanOrEqual(1);
    expect(calls.false).toBeLessThanOrEqual(2);
    expect(calls.true).toBeGreaterThan(10);
    expect(sentEarly).toBe(0);
  });

  it('emits start, ticks and done, and stops early on stop()', async () => {
    const s = await server({ sdk: 'v2', instanceId: 'events' });
    const engine = new BenchEngine(
      { ...benchOptions(s.url, { era: '2026', clients: 2, duration: 60_000 }) },
      {
        url: s.url,
      },
    );
    const seen: string[] = [];
    engine.on('start', () => seen.push('start'));
    engine.on('tick', (tick) => {
      if (!seen.includes('tick')) seen.push('tick');
      if (tick.live.iterations > 0) engine.stop();
    });
    engine.on('done', () => seen.push('done'));
    const report = await engine.run();

    expect(seen).toEqual(['start', 'tick', 'done']);
    expect(report.durationMs).toBeLessThan(30_000);
    expect(report.totals.requests).toBe(s.counts.requests);
    expect(sum(report.instances)).toBe(report.totals.requests);
  });
});
