import { z } from 'zod';

/**
 * The bench report, version 1: the one description of what `--json`,
 * `--out` and `mcp-scale plan --from-report` exchange. The shipped JSON
 * Schema (schemas/bench-report.schema.json) is generated from this
 * (write-report-schema.ts) and a test keeps the two equal.
 *
 * Latencies are milliseconds (3 decimals); rates are per second; ratios are
 * fractions in [0, 1].
 */
export const REPORT_SCHEMA_ID = 'urn:mcp-scale:schema:bench-report:v1';
export const REPORT_VERSION = 1;

const count = z.number().int().nonnegative();
const counts = z.record(z.string(), count);

export const latencySummarySchema = z
  .object({
    count,
    min: z.number(),
    mean: z.number(),
    p50: z.number(),
    p90: z.number(),
    p99: z.number(),
    p999: z.number().describe('99.9th percentile'),
    max: z.number(),
  })
  .strict();

const workerRssSchema = z
  .object({
    id: z.string(),
    pid: z.number().int().positive(),
    rssBytes: count.nullable().describe('null when the process is gone (restarted) or /proc is unavailable'),
  })
  .strict();

const checkSchema = z
  .object({ name: z.string(), passed: z.boolean(), detail: z.string() })
  .strict()
  .describe(
    'A verdict the scenario reached (informational; gate on them with --threshold "checks_failed==0")',
  );

const checks = z.array(checkSchema);

const killSchema = z
  .object({
    n: z.number().int().positive(),
    target: z.enum(['worker', 'gateway', 'redis']),
    id: z.string(),
    pid: z.number().int(),
    atMs: z.number().describe('When, ms since the bench started'),
    skipped: z.string().nullable().describe('Why nothing was killed at this time; null when a process was'),
    replacedAfterMs: z
      .number()
      .nullable()
      .describe('Until the ready file named a new live process in its place (null: not seen)'),
    replacedByPid: z.number().int().nullable(),
    recoveredAfterMs: z
      .number()
      .nullable()
      .describe(
        'Client view: to the first answer to a request sent after the last error of the window; 0 without errors; null when errors lasted to its end',
      ),
    errors: count.describe('Errors completed from this kill to the next (or the end)'),
    errorWindow: z
      .object({ firstMs: z.number(), lastMs: z.number() })
      .strict()
      .nullable()
      .describe('First and last error, ms after the kill'),
    errorsByKind: counts,
    sessionsActive: count.describe('Sessions answered before the kill'),
    sessionsKept: count.describe(
      'Of those, answered again on the same session id to a request sent after the kill (before the run ended)',
    ),
    sessionsLost: count.describe('Sessions answered 404 in this window'),
    sessionsNotSeenAgain: count.describe(
      'Of the active sessions, neither kept nor lost: nothing more was answered on them before the run ended',
    ),
  })
  .strict()
  .describe('One kill of the failover scenario and what the clients saw until the next');

const scenarioSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('mixed'), checks }).strict(),
  z.object({ name: z.literal('script'), checks, file: z.string(), steps: count }).strict(),
  z
    .object({
      name: z.literal('affinity'),
      checks,
      sessions: count,
      sessionsWithInstanceChange: count,
      instanceChanges: count,
      responsesWithoutInstance: count,
    })
    .strict(),
  z
    .object({
      name: z.literal('ratelimit'),
      checks,
      tool: z.string(),
      expectLimit: z.string().nullable(),
      sent: count.describe('JSON-RPC requests answered, handshakes included (the gateway charges them too)'),
      admitted: count,
      limited: count,
      expectedAdmitted: count.nullable(),
      limitedWithRetryAfter: count,
      limitedWithRpcCode: count.describe('429s whose body carried JSON-RPC error -32029'),
      headers: z.record(
        z.string(),
        z.object({ onLimited: count, onAdmitted: count, sample: z.string() }).strict(),
      ),
    })
    .strict(),
  z
    .object({
      name: z.literal('cache'),
      checks,
      hits: count,
      misses: count,
      unmarked: count,
      hitRatio: z.number().nullable(),
    })
    .strict(),
  z
    .object({
      name: z.literal('failover'),
      checks,
      kill: z.enum(['worker', 'gateway', 'redis']).describe('The tier killed (--kill)'),
      killEveryMs: z.number().nullable().describe('--kill-every; null: one kill'),
      killed: z
        .object({ id: z.string(), pid: z.number().int(), atMs: z.number() })
        .strict()
        .nullable()
        .describe('The first kill'),
      kills: z.array(killSchema),
      sessionsOnKilledInstance: count.describe('Worker kills: sessions the first victim held'),
      sessionsRehomed: count.describe('Worker kills: of those, answered again elsewhere'),
      sessionsLost: count,
      errorsAfterKill: count.describe('Errors completed after the first kill'),
      lastErrorAfterKillMs: z.number().nullable(),
    })
    .strict(),
  z
    .object({
      name: z.literal('raw'),
      checks,
      connections: count,
      sessionsOpened: count,
      method: z.string(),
      ratePerSecond: z.number().nullable(),
      ignoreCoordinatedOmission: z.boolean(),
      autocannon: z
        .object({
          requestsPerSecond: z.number(),
          p50: z.number(),
          p99: z.number(),
          errors: count,
          timeouts: count,
          non2xx: count,
        })
        .strict(),
    })
    .strict(),
]);

const eraSchema = z
  .object({ virtualUsers: count, requests: count, errors: count, protocolVersions: counts })
  .strict();

const stageSchema = z
  .object({ fromPerSecond: z.number(), toPerSecond: z.number(), durationMs: z.number() })
  .strict();

const userIterationsSchema = z
  .object({
    vu: count.describe('Virtual user number (unique within the report; merged reports renumber)'),
    era: z.enum(['2025', '2026']),
    iterations: count.describe('Iterations the user completed: a request and the think time after it'),
    offered: z
      .number()
      .nullable()
      .describe("Iterations the closed model's arithmetic expects from this user; null in the open model"),
  })
  .strict();

export const loadSummarySchema = z
  .object({
    model: z.enum(['closed', 'open', 'raw']),
    offered: z
      .object({
        iterations: z
          .number()
          .nullable()
          .describe('Closed: users x active time / (think + latency); open: the arrivals scheduled'),
        perSecond: z.number().nullable(),
        basis: z.string().describe('The arithmetic, in words'),
      })
      .strict(),
    achieved: z.object({ iterations: count, perSecond: z.number() }).strict(),
    achievedRatio: z.number().nullable().describe('achieved / offered; gate with --threshold "achieved>95%"'),
    shortfall: z.boolean().describe('achievedRatio below 95%'),
    stoppedEarly: count.describe('Virtual users whose loop ended while they should still have run'),
    warnings: z.array(z.string()),
    perUser: z.array(userIterationsSchema),
  })
  .strict()
  .describe('Offered versus achieved load');

const encoded = z.string().describe('HdrHistogram, compressed and base64-encoded (microseconds)');

export const histogramsSchema = z
  .object({
    encoding: z.literal('hdr-compressed-base64'),
    unit: z.literal('us'),
    all: encoded,
    setup: encoded,
    byMethod: z.record(z.string(), encoded),
    byTool: z.record(z.string(), encoded),
    timeline: z.array(encoded).describe('One per timeline entry, in the same order'),
  })
  .strict()
  .describe('The exact latency distributions, so reports from many processes or machines merge exactly');

export const capacitySchema = z
  .object({
    p99TargetMs: z.number(),
    callsPerSecond: z
      .number()
      .nullable()
      .describe('Calls/s achieved by the best step whose p99 met the target; null when no step did'),
    workers: count,
    callsPerSecondPerWorker: z.number().nullable(),
    steps: z.array(
      z
        .object({
          rate: z.number().describe('Arrival rate asked for, per second'),
          durationMs: z.number(),
          callsPerSecond: z.number(),
          p99Ms: z.number(),
          errorRate: z.number(),
          dropped: count,
          passed: z.boolean(),
        })
        .strict(),
    ),
  })
  .strict();

export const benchReportSchema = z
  .object({
    schema: z.literal('mcp-scale/bench-report'),
    schemaVersion: z.literal(REPORT_VERSION),
    generator: z.object({ name: z.literal('mcp-scale'), version: z.string() }).strict(),
    startedAt: z.string().describe('ISO 8601'),
    durationMs: z.number(),
    target: z.object({ url: z.string(), instances: count.nullable() }).strict(),
    options: z
      .object({
        scenario: z.string(),
        model: z.enum(['closed', 'open']),
        era: z.enum(['2025', '2026', 'mixed']),
        mix: z.object({ '2025': z.number(), '2026': z.number() }).strict(),
        clients: count.nullable(),
        maxClients: count.nullable(),
        stages: z.array(stageSchema).nullable(),
        userStages: z
          .array(z.object({ from: count, to: count, durationMs: z.number() }).strict())
          .nullable()
          .describe('Closed model: users over time (--stages, or --clients with --ramp-up)'),
        procs: count.describe('Load processes the users were split across (--procs)'),
        client: z.enum(['sdk', 'lean']).describe("The virtual users' client (--client)"),
        durationMs: z.number().nullable(),
        iterations: count.nullable(),
        thinkMs: z.object({ min: z.number(), max: z.number() }).strict(),
        timeoutMs: z.number(),
        behaviour: z
          .object({ reinitOn404: z.boolean(), sessionPerCall: z.boolean(), honourRetryAfter: z.boolean() })
          .strict(),
        seed: z.number().int(),
      })
      .strict(),
    totals: z
      .object({
        requests: count.describe('Every JSON-RPC request, session set-up included'),
        iterations: count.describe("The scenario's own requests (tools/call, tools/list, ping)"),
        ok: count,
        errors: count,
        errorRate: z.number(),
        requestsPerSecond: z.number(),
        iterationsPerSecond: z.number(),
        dropped: count.describe('Open model: arrivals with no free virtual user (as k6 counts them)'),
        interrupted: count.describe('Requests still running when the graceful stop ran out'),
      })
      .strict(),
    latency: z
      .object({
        all: latencySummarySchema.describe("The scenario's requests, from their intended send time"),
        setup: latencySummarySchema.describe('initialize (2025) and server/discover (2026)'),
        byMethod: z.record(z.string(), latencySummarySchema),
        byTool: z.record(z.string(), latencySummarySchema),
      })
      .strict(),
    errors: z
      .object({
        byKind: counts,
        byStatus: counts,
        byRpcCode: counts,
        samples: z.record(z.string(), z.string()),
      })
      .strict(),
    sessions: z
      .object({
        opened: count,
        kept: count,
        lost: count,
        instanceChanges: count,
        sessionsWithInstanceChange: count,
      })
      .strict(),
    rateLimit: z
      .object({
        limited: count,
        withRetryAfter: count,
        withoutRetryAfter: count,
        rpcCodes: counts,
        headersSeen: z.record(z.string(), z.string()),
      })
      .strict(),
    cache: z
      .object({
        hits: count,
        misses: count,
        unmarked: count,
        hitRatio: z.number().nullable(),
        byTool: z.record(z.string(), z.object({ hits: count, misses: count }).strict()),
      })
      .strict(),
    instances: counts.describe('Responses per Mcp-Scale-Instance value; "(none)" when the header was absent'),
    workerMemory: z
      .object({
        start: z.array(workerRssSchema),
        end: z.array(workerRssSchema),
      })
      .strict()
      .nullable()
      .describe(
        "Resident memory of the cluster's workers (the ready file's pids, read from /proc) when the run started and when it ended; null without a ready file",
      ),
    eras: z.object({ '2025': eraSchema, '2026': eraSchema }).strict(),
    timeline: z.array(
      z
        .object({
          second: count,
          requests: count,
          errors: count,
          limited: count,
          p50: z.number(),
          p90: z.number(),
          p99: z.number(),
          max: z.number(),
          byInstance: counts,
        })
        .strict(),
    ),
    load: loadSummarySchema,
    histograms: histogramsSchema,
    scenario: scenarioSchema,
    capacity: capacitySchema.nullable(),
    thresholds: z.array(
      z
        .object({
          expression: z.string(),
          actual: z.number().nullable(),
          unit: z.string(),
          passed: z.boolean(),
        })
        .strict(),
    ),
    passed: z.boolean().describe('Every threshold passed'),
  })
  .strict();

export type BenchReport = z.infer<typeof benchReportSchema>;
export type ScenarioSummary = z.infer<typeof scenarioSchema>;
export type ScenarioCheck = z.infer<typeof checkSchema>;
export type LoadSummary = z.infer<typeof loadSummarySchema>;
export type UserIterations = z.infer<typeof userIterationsSchema>;
export type EncodedHistograms = z.infer<typeof histogramsSchema>;
export type CapacityResult = z.infer<typeof capacitySchema>;
export type ThresholdResult = BenchReport['thresholds'][number];

/** The JSON Schema (draft 2020-12) shipped as schemas/bench-report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(benchReportSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: REPORT_SCHEMA_ID,
    title: 'mcp-scale bench report',
    description: `Version ${REPORT_VERSION}. Latencies in ms, rates per second, ratios as fractions.`,
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
