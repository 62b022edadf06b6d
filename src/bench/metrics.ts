import { KeyedHistograms, LatencyHistogram, type LatencySummary } from './histogram.js';
import type { EncodedHistograms } from './report-schema.js';
import { NO_INSTANCE, Timeline, type TimelineBucket } from './timeline.js';
import { SETUP_METHODS, type Era, type ResponseRecord } from './types.js';

/**
 * Everything the bench counts, fed one ResponseRecord at a time. Scenario
 * requests and session set-up (initialize, server/discover) are kept apart
 * so latency thresholds judge the calls users make, not the handshakes.
 */
export interface MetricsResult {
  firstAtMs: number;
  lastAtMs: number;
  requests: number;
  iterations: number;
  ok: number;
  errors: number;
  latency: LatencySummary;
  setupLatency: LatencySummary;
  byMethod: Record<string, LatencySummary>;
  byTool: Record<string, LatencySummary>;
  errorsByKind: Record<string, number>;
  errorsByStatus: Record<string, number>;
  errorsByRpcCode: Record<string, number>;
  errorSamples: Record<string, string>;
  sessions: {
    opened: number;
    lost: number;
    kept: number;
    instanceChanges: number;
    sessionsWithInstanceChange: number;
  };
  limits: {
    limited: number;
    withRetryAfter: number;
    withoutRetryAfter: number;
    rpcCodes: Record<string, number>;
    headersSeen: Record<string, string>;
  };
  cache: {
    hits: number;
    misses: number;
    unmarked: number;
    byTool: Record<string, { hits: number; misses: number }>;
  };
  instances: Record<string, number>;
  eras: Record<Era, { requests: number; errors: number; protocolVersions: Record<string, number> }>;
  timeline: TimelineBucket[];
  histograms: EncodedHistograms;
}

export interface LiveSnapshot {
  requests: number;
  iterations: number;
  errors: number;
  limited: number;
  p50: number;
  p99: number;
  sessionsOpened: number;
  sessionsLost: number;
  instances: Record<string, number>;
  lastSecond?: TimelineBucket;
}

const increment = (map: Record<string, number>, key: string, by = 1): void => {
  map[key] = (map[key] ?? 0) + by;
};

export class MetricsCollector {
  private readonly all = new LatencyHistogram();
  private readonly setup = new LatencyHistogram();
  private readonly byMethod = new KeyedHistograms();
  private readonly byTool = new KeyedHistograms();
  private readonly timeline = new Timeline();
  private readonly sessionInstance = new Map<string, string>();
  private readonly sessionsChanged = new Set<string>();
  private readonly state = {
    firstAtMs: Number.POSITIVE_INFINITY,
    lastAtMs: 0,
    requests: 0,
    iterations: 0,
    ok: 0,
    errors: 0,
    opened: 0,
    lost: 0,
    instanceChanges: 0,
    limited: 0,
    withRetryAfter: 0,
    hits: 0,
    misses: 0,
    unmarked: 0,
  };
  private readonly errorsByKind: Record<string, number> = {};
  private readonly errorsByStatus: Record<string, number> = {};
  private readonly errorsByRpcCode: Record<string, number> = {};
  private readonly errorSamples: Record<string, string> = {};
  private readonly limitRpcCodes: Record<string, number> = {};
  private readonly headersSeen: Record<string, string> = {};
  private readonly cacheByTool: Record<string, { hits: number; misses: number }> = {};
  private readonly instances: Record<string, number> = {};
  private readonly eras: MetricsResult['eras'] = {
    '2025': { requests: 0, errors: 0, protocolVersions: {} },
    '2026': { requests: 0, errors: 0, protocolVersions: {} },
  };

  record(r: ResponseRecord): void {
    const s = this.state;
    s.firstAtMs = Math.min(s.firstAtMs, r.intendedAt);
    s.lastAtMs = Math.max(s.lastAtMs, r.at);
    s.requests += 1;
    const setup = SETUP_METHODS.has(r.method);
    if (setup) this.setup.recordMs(r.latencyMs);
    else {
      s.iterations += 1;
      this.all.recordMs(r.latencyMs);
    }
    this.byMethod.record(r.method, r.latencyMs);
    if (r.tool) this.byTool.record(r.tool, r.latencyMs);
    this.timeline.add(r);
    increment(this.instances, r.instance ?? NO_INSTANCE);
    const era = this.eras[r.era];
    era.requests += 1;
    if (r.protocolVersion) increment(era.protocolVersions, r.protocolVersion);

    if (r.ok) s.ok += 1;
    else {
      s.errors += 1;
      era.errors += 1;
      const kind = r.errorKind ?? 'client_error';
      increment(this.errorsByKind, kind);
      if (r.status !== undefined && r.status >= 400) increment(this.errorsByStatus, String(r.status));
      if (r.rpcCode !== undefined) increment(this.errorsByRpcCode, String(r.rpcCode));
      if (r.errorMessage && !(kind in this.errorSamples))
        this.errorSamples[kind] = r.errorMessage.slice(0, 300);
    }
    this.recordSession(r);
    this.recordLimits(r);
    this.recordCache(r);
  }

  private recordSession(r: ResponseRecord): void {
    if (r.sessionOpened) this.state.opened += 1;
    if (r.sessionLost) this.state.lost += 1;
    if (!r.sessionId || !r.instance || r.sessionLost) return;
    const previous = this.sessionInstance.get(r.sessionId);
    if (previous !== undefined && previous !== r.instance) {
      this.state.instanceChanges += 1;
      this.sessionsChanged.add(r.sessionId);
    }
    this.sessionInstance.set(r.sessionId, r.instance);
  }

  private recordLimits(r: ResponseRecord): void {
    for (const [name, value] of Object.entries(r.rateLimitHeaders ?? {})) this.headersSeen[name] ??= value;
    if (!r.limited) return;
    this.state.limited += 1;
    if (r.retryAfterMs !== undefined) this.state.withRetryAfter += 1;
    increment(this.limitRpcCodes, r.rpcCode === undefined ? 'none' : String(r.rpcCode));
  }

  private recordCache(r: ResponseRecord): void {
    if (r.method !== 'tools/call' || !r.ok || !r.tool) return;
    if (!r.cache) {
      this.state.unmarked += 1;
      return;
    }
    const tool = (this.cacheByTool[r.tool] ??= { hits: 0, misses: 0 });
    if (r.cache === 'hit') {
      this.state.hits += 1;
      tool.hits += 1;
    } else {
      this.state.misses += 1;
      tool.misses += 1;
    }
  }

  instanceCounts(): Record<string, number> {
    return { ...this.instances };
  }

  /** Cheap numbers for the live display. */
  snapshot(nowMs: number): LiveSnapshot {
    this.timeline.closeBefore(Math.floor(nowMs / 1000));
    const s = this.state;
    return {
      requests: s.requests,
      iterations: s.iterations,
      errors: s.errors,
      limited: s.limited,
      p50: this.all.percentileMs(50),
      p99: this.all.percentileMs(99),
      sessionsOpened: s.opened,
      sessionsLost: s.lost,
      instances: { ...this.instances },
      lastSecond: this.timeline.lastClosed(),
    };
  }

  result(): MetricsResult {
    const s = this.state;
    const timeline = this.timeline.finish();
    return {
      firstAtMs: Number.isFinite(s.firstAtMs) ? s.firstAtMs : 0,
      lastAtMs: s.lastAtMs,
      requests: s.requests,
      iterations: s.iterations,
      ok: s.ok,
      errors: s.errors,
      latency: this.all.summary(),
      setupLatency: this.setup.summary(),
      byMethod: this.byMethod.summaries(),
      byTool: this.byTool.summaries(),
      errorsByKind: { ...this.errorsByKind },
      errorsByStatus: { ...this.errorsByStatus },
      errorsByRpcCode: { ...this.errorsByRpcCode },
      errorSamples: { ...this.errorSamples },
      sessions: {
        opened: s.opened,
        lost: s.lost,
        kept: Math.max(0, s.opened - s.lost),
        instanceChanges: s.instanceChanges,
        sessionsWithInstanceChange: this.sessionsChanged.size,
      },
      limits: {
        limited: s.limited,
        withRetryAfter: s.withRetryAfter,
        withoutRetryAfter: s.limited - s.withRetryAfter,
        rpcCodes: { ...this.limitRpcCodes },
        headersSeen: { ...this.headersSeen },
      },
      cache: { hits: s.hits, misses: s.misses, unmarked: s.unmarked, byTool: { ...this.cacheByTool } },
      instances: { ...this.instances },
      eras: structuredClone(this.eras),
      timeline,
      histograms: {
        encoding: 'hdr-compressed-base64',
        unit: 'us',
        all: this.all.encode(),
        setup: this.setup.encode(),
        byMethod: this.byMethod.encoded(),
        byTool: this.byTool.encoded(),
        timeline: this.timeline.encodedBuckets(),
      },
    };
  }
}
