import { formatRate, ratePerSecond, type RateSpec } from '../config/rate.js';
import { UserError } from '../errors.js';
import { bandFor, bandWorkers } from './bands.js';
import { SUPPORTED_REPORT_SCHEMA } from './capacity-report.js';
import { buildCommands } from './commands.js';
import { fmt, measuredCapacity, UTILISATION_TARGET } from './measured.js';
import {
  CACHE_TTLS,
  decideAutoscaling,
  decideCache,
  decideGateways,
  decideLimits,
  decideLoadBalancer,
  decidePlatform,
  decideRedis,
} from './topology-rules.js';
import type {
  MeasuredBasis,
  Plan,
  PlanInput,
  ReasonLine,
  Recommendation,
  RulesOfThumbBasis,
} from './types.js';

/**
 * `mcp-scale plan` as a pure function: users, call rate and (optionally) a
 * measured capacity in; a topology, the reasoning behind every number and
 * the commands that realise it out. No I/O.
 */

export const DEFAULT_P99_TARGET_MS = 250;
export const DEFAULT_CALLS_PER_USER: RateSpec = { points: 10, durationMs: 60_000 };
/** From this many users up, a measured plan still keeps two workers so one restart is not an outage. */
export const AVAILABILITY_FLOOR_USERS = 10;
const SESSION_TTL = '1h';

export function planTopology(input: PlanInput): Plan {
  validateInput(input);
  const { users, callsPerUser, report } = input;
  const demand = users * ratePerSecond(callsPerUser);
  const band = bandFor(users);
  const reasoning: ReasonLine[] = [
    {
      source: 'input',
      text: `demand = ${users} users x ${formatRate(callsPerUser)} = ${fmt(demand)} calls/s at peak.`,
    },
  ];

  let workers: number;
  let basis: RulesOfThumbBasis | MeasuredBasis;
  let p99TargetMs: number;
  if (!report) {
    p99TargetMs = input.p99TargetMs ?? DEFAULT_P99_TARGET_MS;
    const sized = bandWorkers(band, users);
    workers = sized.workers;
    basis = { kind: 'rules-of-thumb', band, workersFormula: sized.formula };
    reasoning.push(
      {
        source: 'rule of thumb',
        text:
          `no --from-report, so the common sizing bands decide. ${users} users is in the ${band.label} band: ` +
          `${band.summary}. These are rules of thumb, not measurements of your server.`,
      },
      {
        source: 'rule of thumb',
        text:
          `workers = ${sized.formula}` +
          (band.id === 'large' ? '.' : ' (the count grows linearly with users inside the band).'),
      },
      {
        source: 'note',
        text:
          `the rules of thumb assume light calls (about ${formatRate(DEFAULT_CALLS_PER_USER)} per user) and do not ` +
          `use the p99 target; run \`mcp-scale bench --find-capacity\` against your server and pass its JSON ` +
          `report with --from-report to size workers from measurement.`,
      },
    );
  } else {
    const measured = measuredCapacity(report, input.p99TargetMs, input.reportFile);
    p99TargetMs = measured.p99TargetMs;
    reasoning.push(...measured.reasons);
    if (report.schemaVersion !== undefined && report.schemaVersion !== SUPPORTED_REPORT_SCHEMA) {
      reasoning.push({
        source: 'note',
        text: `the report has schemaVersion ${report.schemaVersion}; this plan reads version ${SUPPORTED_REPORT_SCHEMA} fields.`,
      });
    }
    reasoning.push({
      source: 'assumption',
      text:
        `capacity grows linearly with workers, each getting the CPU one worker had in the benchmark, ` +
        `and your users' calls cost what the benchmark's did.`,
    });
    const usable = measured.capacityPerWorker * UTILISATION_TARGET;
    const byDemand = Math.max(1, Math.ceil(demand / usable));
    reasoning.push(
      {
        source: 'assumption',
        text:
          `plan for ${UTILISATION_TARGET * 100}% utilisation, so bursts and a worker being replaced ` +
          `do not push p99 past the target.`,
      },
      {
        source: 'derived',
        text:
          `workers = ceil(${fmt(demand)} / (${fmt(measured.capacityPerWorker)} x ${UTILISATION_TARGET})) ` +
          `= ${byDemand}` +
          (byDemand === 1 && demand / usable < 1 ? ' (at least 1)' : '') +
          '.',
      },
    );
    workers = byDemand;
    if (users >= AVAILABILITY_FLOOR_USERS && workers < 2) {
      workers = 2;
      reasoning.push({
        source: 'assumption',
        text: `workers = 2 after all: from ${AVAILABILITY_FLOOR_USERS} users up, one restart should not be an outage.`,
      });
    }
    reasoning.push({
      source: 'rule of thumb',
      text: `${users} users is in the ${band.label} band; it still decides the Redis form, the cache and the platform.`,
    });
    basis = {
      kind: 'measured',
      ...(input.reportFile === undefined ? {} : { reportFile: input.reportFile }),
      ...(report.schemaVersion === undefined ? {} : { reportSchemaVersion: report.schemaVersion }),
      reportP99TargetMs: report.p99TargetMs,
      reportWorkers: report.workers,
      p99TargetMs,
      measuredCallsPerSecond: measured.measuredCallsPerSecond,
      capacityPerWorker: measured.capacityPerWorker,
      capacitySource: measured.capacitySource,
      utilisationTarget: UTILISATION_TARGET,
      band,
    };
  }

  const recommendation = recommend(workers, band, demand, callsPerUser, reasoning);
  const { commands, notes } = buildCommands(recommendation);
  reasoning.push(...notes);
  return {
    schemaVersion: 1,
    inputs: {
      users,
      callsPerUser: formatRate(callsPerUser),
      demandCallsPerSecond: demand,
      p99TargetMs,
      ...(input.reportFile === undefined ? {} : { reportFile: input.reportFile }),
    },
    basis,
    recommendation,
    reasoning,
    commands,
  };
}

function recommend(
  workers: number,
  band: ReturnType<typeof bandFor>,
  demand: number,
  callsPerUser: RateSpec,
  reasoning: ReasonLine[],
): Recommendation {
  const gateways = decideGateways(workers);
  const platform = decidePlatform(band, workers);
  const loadBalancer = decideLoadBalancer(gateways.value, platform.value);
  const redisDecisions = decideRedis(band, workers, gateways.value, demand);
  const limits = decideLimits(callsPerUser, band, gateways.value);
  const cache = decideCache(band);
  reasoning.push(gateways.reason, loadBalancer.reason, ...redisDecisions.map((decision) => decision.reason));
  reasoning.push({
    source: 'derived',
    text:
      workers === 1
        ? 'affinity: gateway (the default); with one worker every session is on it anyway, and adding workers later changes nothing for clients.'
        : 'affinity: gateway; the gateway records which worker owns each 2025-era session and sends the session there, ' +
          'replaying initialize on another worker if that one dies. 2026-era requests need no affinity.',
  });
  reasoning.push(platform.reason);
  if (band.id === 'large') {
    reasoning.push({
      source: 'rule of thumb',
      text:
        'API gateway: the mcp-scale gateways are that tier (authentication, rate limits, routing); ' +
        'TLS termination and a WAF belong to your ingress or cloud load balancer.',
    });
  }
  reasoning.push(...limits.reasons, cache.reason, {
    source: 'assumption',
    text: `session TTL: ${SESSION_TTL} (serve's default); an idle 2025-era session is forgotten after that and its client re-initializes.`,
  });
  const autoscaling = platform.value === 'kubernetes' ? decideAutoscaling(workers) : undefined;
  if (autoscaling) reasoning.push(autoscaling.reason);
  reasoning.push({
    source: 'note',
    text:
      'sessions: stateful. If every client is 2026-era, or your 2025-era clients need no server-to-client requests, ' +
      'GET notification streams or resumability, serve --sessions stateless needs neither affinity nor a session store ' +
      '(what it costs, measured: docs/sessions-modes.md).',
  });
  const redis = redisDecisions[redisDecisions.length - 1]?.value ?? 'none';
  return {
    workers,
    gateways: gateways.value,
    loadBalancer: loadBalancer.value,
    redis,
    affinity: 'gateway',
    sessions: 'stateful',
    platform: platform.value,
    rateLimit: limits.rateLimit,
    ...(limits.ipRateLimit === undefined ? {} : { ipRateLimit: limits.ipRateLimit }),
    cache: { recommended: cache.value, ttls: cache.value ? CACHE_TTLS : [] },
    sessionTtl: SESSION_TTL,
    ...(autoscaling ? { autoscaling: autoscaling.value } : {}),
  };
}

function validateInput(input: PlanInput): void {
  if (!Number.isInteger(input.users) || input.users < 1) {
    throw new UserError(`--users must be a whole number >= 1, got ${input.users}`);
  }
  const { points, durationMs } = input.callsPerUser;
  if (!(points > 0) || !(durationMs > 0)) {
    throw new UserError(`--calls-per-user must be a positive rate such as 10/1m`);
  }
  if (input.p99TargetMs !== undefined && !(input.p99TargetMs > 0)) {
    throw new UserError(`--p99 must be longer than 0, got ${input.p99TargetMs} ms`);
  }
}
