import { parseDuration } from '../config/duration.js';
import type { RateSpec } from '../config/rate.js';
import { UserError } from '../errors.js';
import { constantStages, parsePerSecond, parseRamp, totalDurationMs } from './load-profile.js';
import { constantUsers, parseUserStages, peakUsers } from './load/user-stages.js';
import { checkProcs, resolveProcs } from './procs/split-options.js';
import { readScript } from './scenarios/script.js';
import { parseThreshold, type Threshold } from './thresholds.js';
import type { UserStage } from './load/user-stages.js';
import {
  KILL_TARGETS,
  type BenchOptions,
  type Era,
  type EraChoice,
  type KillTarget,
  type LoadModel,
  type ScenarioName,
} from './types.js';

/**
 * From the `bench` flags (as commander parsed them) to what the engine
 * runs: one place that fills defaults and rejects combinations that make
 * no sense, each with a one-line UserError.
 */
export interface BenchFlags {
  url?: string;
  scenario?: ScenarioName;
  script?: string;
  era?: EraChoice;
  mix?: string;
  clients?: number;
  rate?: string;
  ramp?: string;
  /** Closed model: users over time, in --ramp's syntax (`0-500:30s,hold:2m,500-0:10s`). */
  stages?: string;
  /** Closed model: start the users spread over this long (ms). */
  rampUp?: number;
  /** The virtual users' client: sdk (default) or lean. */
  client?: 'sdk' | 'lean';
  /** Load processes: a number, or `auto` (cores - 1). */
  procs?: string;
  maxClients?: number;
  preAllocate?: number;
  /** ms */
  duration?: number;
  iterations?: number;
  think?: string;
  timeout?: number;
  gracefulStop?: number;
  reinitOn404?: boolean;
  sessionPerCall?: boolean;
  ignoreRetryAfter?: boolean;
  expectLimit?: RateSpec;
  tool?: string;
  args?: string;
  header?: string[];
  seed?: number;
  readyFile?: string;
  spawn?: boolean;
  killAt?: number;
  killInstance?: string;
  kill?: KillTarget;
  /** ms */
  killEvery?: number;
  findCapacity?: boolean;
  p99?: number;
  startRate?: string;
  stepDuration?: number;
  maxRate?: string;
  threshold?: string[];
  json?: boolean;
  out?: string;
  html?: string;
}

export interface CapacityPlan {
  p99TargetMs: number;
  startPerSecond: number;
  maxPerSecond: number;
  stepMs: number;
  factor: number;
}

export interface BenchPlan {
  /** Options without the URL: the target is known only after --spawn / --ready-file. */
  options: Omit<BenchOptions, 'url'>;
  url?: string;
  thresholds: Threshold[];
  capacity?: CapacityPlan;
  spawn: boolean;
  output: { json: boolean; out?: string; html?: string };
}

export const DEFAULT_URL = 'http://127.0.0.1:8080/mcp';
const DEFAULT_DURATION_MS = 10_000;
const SESSION_SCENARIOS: readonly ScenarioName[] = ['affinity', 'failover', 'raw'];

export function resolveBenchPlan(flags: BenchFlags): BenchPlan {
  const scenario: ScenarioName = flags.script ? 'script' : (flags.scenario ?? 'mixed');
  if (flags.script && flags.scenario && flags.scenario !== 'script') {
    throw new UserError(`--script runs your own sequence; drop --scenario ${flags.scenario}`);
  }
  if (scenario === 'script' && !flags.script) throw new UserError('--scenario script needs --script FILE');
  if (flags.spawn && flags.readyFile) throw new UserError('use either --spawn or --ready-file, not both');
  if (flags.spawn && flags.url) throw new UserError('--spawn benches the cluster it starts: drop the URL');
  if (flags.url) validateUrl(flags.url);

  const mix = resolveMix(flags, scenario);
  const model = resolveModel(flags, scenario);
  const durationMs =
    model.kind === 'open'
      ? undefined
      : model.stages
        ? totalDurationMs(model.stages)
        : (flags.duration ?? (flags.iterations ? undefined : DEFAULT_DURATION_MS));
  const capacity = resolveCapacity(flags);
  const procs = resolveProcs(flags.procs);
  checkProcs(procs, scenario, flags.findCapacity ?? false);
  const toolArgs = flags.args === undefined ? undefined : parseArgs(flags.args);
  const options: Omit<BenchOptions, 'url'> = {
    scenario,
    model,
    mix,
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(flags.iterations !== undefined ? { iterations: flags.iterations } : {}),
    timeoutMs: flags.timeout ?? 30_000,
    gracefulStopMs: flags.gracefulStop ?? 5_000,
    behaviour: {
      reinitOn404: flags.reinitOn404 ?? true,
      sessionPerCall: flags.sessionPerCall ?? false,
      honourRetryAfter: !(flags.ignoreRetryAfter ?? false),
    },
    headers: parseHeaders(flags.header ?? []),
    seed: flags.seed ?? 1,
    ...(flags.expectLimit ? { expectLimit: flags.expectLimit } : {}),
    ...(flags.tool ? { tool: flags.tool } : {}),
    ...(toolArgs ? { toolArgs } : {}),
    ...(flags.script ? { scriptFile: flags.script } : {}),
    ...(flags.readyFile ? { readyFile: flags.readyFile } : {}),
    ...(flags.killAt !== undefined ? { killAtMs: flags.killAt } : {}),
    ...(flags.killInstance ? { killInstance: flags.killInstance } : {}),
    ...(flags.kill ? { killTarget: flags.kill } : {}),
    ...(flags.killEvery !== undefined ? { killEveryMs: flags.killEvery } : {}),
    procs,
    client: flags.client ?? 'sdk',
    tickMs: 1000,
  };
  if (flags.client && scenario === 'raw')
    throw new UserError("--client picks the virtual users' client; raw drives autocannon");
  if (flags.expectLimit && scenario !== 'ratelimit')
    throw new UserError('--expect-limit goes with --scenario ratelimit');
  if (
    (flags.killAt !== undefined || flags.killInstance || flags.kill || flags.killEvery !== undefined) &&
    scenario !== 'failover'
  ) {
    throw new UserError('--kill, --kill-at, --kill-every and --kill-instance go with --scenario failover');
  }
  if (flags.kill && !(KILL_TARGETS as readonly string[]).includes(flags.kill)) {
    throw new UserError(`--kill must be one of ${KILL_TARGETS.join(', ')}, got '${flags.kill}'`);
  }
  if (flags.killEvery !== undefined && flags.killEvery < 500) {
    throw new UserError('--kill-every must be at least 500ms: a process needs time to come back');
  }
  if (flags.kill === 'redis' && flags.killInstance) {
    throw new UserError('--kill redis kills the current primary: drop --kill-instance');
  }
  if (scenario === 'failover' && !flags.spawn && !flags.readyFile) {
    throw new UserError(
      '--scenario failover needs --spawn or --ready-file FILE of a local `mcp-scale serve`',
    );
  }
  return {
    options,
    ...(flags.url ? { url: flags.url } : {}),
    thresholds: (flags.threshold ?? []).map(parseThreshold),
    ...(capacity ? { capacity } : {}),
    spawn: flags.spawn ?? false,
    output: {
      json: flags.json ?? false,
      ...(flags.out ? { out: flags.out } : {}),
      ...(flags.html ? { html: flags.html } : {}),
    },
  };
}

function resolveModel(flags: BenchFlags, scenario: ScenarioName): LoadModel {
  if (flags.rate && flags.ramp) throw new UserError('use either --rate or --ramp, not both');
  if (flags.findCapacity) {
    if (flags.rate || flags.ramp)
      throw new UserError('--find-capacity chooses the rates itself: drop --rate/--ramp');
    if (scenario === 'raw')
      throw new UserError('--find-capacity runs virtual users; it does not combine with raw');
  }
  const maxClients = flags.maxClients ?? (scenario === 'raw' ? (flags.clients ?? 10) : 100);
  if (flags.rate || flags.ramp || flags.findCapacity) {
    if (flags.stages || flags.rampUp !== undefined)
      throw new UserError('--stages and --ramp-up ramp users (closed model); --ramp ramps arrivals');
    if (flags.clients !== undefined && scenario !== 'raw') {
      throw new UserError(
        '--clients is the closed model; with --rate/--ramp size the pool with --max-clients',
      );
    }
    if (flags.think)
      throw new UserError('--think is for the closed model; an open model sends on its schedule');
    if (flags.ramp && flags.duration !== undefined)
      throw new UserError('--ramp sets its own length: drop --duration');
    const stages = flags.ramp
      ? parseRamp(flags.ramp)
      : constantStages(
          flags.rate ? parsePerSecond(flags.rate, '--rate') : 1,
          flags.duration ?? DEFAULT_DURATION_MS,
        );
    const preAllocate = Math.min(maxClients, flags.preAllocate ?? Math.min(maxClients, 10));
    return { kind: 'open', stages, maxClients, preAllocate };
  }
  if (flags.maxClients !== undefined && scenario !== 'raw')
    throw new UserError('--max-clients goes with --rate or --ramp');
  const [thinkMinMs, thinkMaxMs] = parseThink(flags.think ?? '0');
  const stages = closedStages(flags, scenario);
  const clients = stages ? peakUsers(stages) : (flags.clients ?? 10);
  return { kind: 'closed', clients, thinkMinMs, thinkMaxMs, ...(stages ? { stages } : {}) };
}

/** Users over time: --stages, or --clients held for --duration (spread over --ramp-up). */
function closedStages(flags: BenchFlags, scenario: ScenarioName): UserStage[] | undefined {
  if (scenario === 'raw') {
    if (flags.stages || flags.rampUp !== undefined)
      throw new UserError('--stages and --ramp-up run virtual users; raw drives autocannon connections');
    return undefined;
  }
  if (flags.stages) {
    if (flags.clients !== undefined) throw new UserError('--stages sets the users: drop --clients');
    if (flags.duration !== undefined) throw new UserError('--stages sets its own length: drop --duration');
    if (flags.rampUp !== undefined) throw new UserError('--stages ramps users itself: drop --ramp-up');
    return parseUserStages(flags.stages);
  }
  const durationMs = flags.duration ?? (flags.iterations ? undefined : DEFAULT_DURATION_MS);
  if (durationMs === undefined) {
    if (flags.rampUp !== undefined)
      throw new UserError('--ramp-up needs --duration (the ramp is part of it)');
    return undefined;
  }
  return constantUsers(flags.clients ?? 10, durationMs, flags.rampUp ?? 0);
}

function resolveMix(flags: BenchFlags, scenario: ScenarioName): Record<Era, number> {
  if (flags.mix) {
    if (flags.era && flags.era !== 'mixed')
      throw new UserError(`--mix sets both eras; drop --era ${flags.era}`);
    return parseMix(flags.mix);
  }
  const scriptEra = flags.script && !flags.era ? readScript(flags.script).era : undefined;
  const era = flags.era ?? scriptEra ?? (SESSION_SCENARIOS.includes(scenario) ? '2025' : 'mixed');
  if (scenario === 'raw' && era !== '2025')
    throw new UserError('--scenario raw drives 2025 sessions: use --era 2025');
  if (era === 'mixed') return { '2025': 50, '2026': 50 };
  return era === '2025' ? { '2025': 100, '2026': 0 } : { '2025': 0, '2026': 100 };
}

/** `2025=70,2026=30` → percentages that sum to 100. */
export function parseMix(text: string): Record<Era, number> {
  const mix: Record<Era, number> = { '2025': 0, '2026': 0 };
  for (const part of text.split(',')) {
    const match = /^\s*(2025|2026)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(part);
    if (!match) throw new UserError(`invalid --mix '${text}': use 2025=70,2026=30`);
    mix[match[1] as Era] = Number(match[2]);
  }
  const total = mix['2025'] + mix['2026'];
  if (Math.abs(total - 100) > 1e-9)
    throw new UserError(`invalid --mix '${text}': the shares must add up to 100, got ${total}`);
  return mix;
}

/** `100ms` or `50ms-200ms` (uniform). */
export function parseThink(text: string): [number, number] {
  const [low, high, ...rest] = text.split('-');
  if (rest.length > 0 || low === undefined)
    throw new UserError(`invalid --think '${text}': use 100ms or 50ms-200ms`);
  const min = parseDuration(low, '--think');
  const max = high === undefined ? min : parseDuration(high, '--think');
  if (max < min) throw new UserError(`invalid --think '${text}': the upper bound is below the lower one`);
  return [min, max];
}

function resolveCapacity(flags: BenchFlags): CapacityPlan | undefined {
  if (!flags.findCapacity) {
    if (flags.p99 !== undefined || flags.startRate || flags.maxRate || flags.stepDuration !== undefined) {
      throw new UserError('--p99, --start-rate, --max-rate and --step-duration go with --find-capacity');
    }
    return undefined;
  }
  if (flags.p99 === undefined || flags.p99 <= 0)
    throw new UserError('--find-capacity needs --p99 TARGET, e.g. --p99 250ms');
  if (flags.iterations !== undefined)
    throw new UserError('--find-capacity runs timed steps: drop --iterations');
  const startPerSecond = flags.startRate ? parsePerSecond(flags.startRate, '--start-rate') : 10;
  const maxPerSecond = flags.maxRate ? parsePerSecond(flags.maxRate, '--max-rate') : 10_000;
  if (startPerSecond <= 0 || maxPerSecond < startPerSecond) {
    throw new UserError('--max-rate must be at least --start-rate, and both above 0');
  }
  return {
    p99TargetMs: flags.p99,
    startPerSecond,
    maxPerSecond,
    stepMs: flags.stepDuration ?? flags.duration ?? DEFAULT_DURATION_MS,
    factor: 1.5,
  };
}

function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new UserError(`invalid --header '${value}': use 'Name: value'`);
    headers[value.slice(0, colon).trim().toLowerCase()] = value.slice(colon + 1).trim();
  }
  return headers;
}

function parseArgs(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the one-line error
  }
  throw new UserError(`invalid --args '${text}': use a JSON object, e.g. '{"id":"1"}'`);
}

function validateUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`invalid URL '${url}': use http://host:port/mcp`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(`invalid URL '${url}': only http and https are supported`);
  }
}
