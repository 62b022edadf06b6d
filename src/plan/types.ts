import type { Affinity } from '../config/cluster-config.js';
import type { RateSpec } from '../config/rate.js';

/**
 * The shapes `mcp-scale plan` works with. A plan is data first (what --json
 * prints); the human output is a rendering of the same object.
 */

export interface PlanInput {
  /** Peak concurrent users. */
  users: number;
  /** Calls each user makes, e.g. 10 per minute. */
  callsPerUser: RateSpec;
  /** The p99 latency target; undefined = the report's own target (or 250 ms without a report). */
  p99TargetMs?: number;
  /** A parsed `bench --find-capacity` report; undefined = rules of thumb. */
  report?: CapacityReport;
  /** Where the report came from, for the reasoning lines. */
  reportFile?: string;
}

/** One load step of `bench --find-capacity`: the offered rate and the p99 it produced. */
export interface CapacityStep {
  rate: number;
  p99Ms: number;
}

/** The part of a bench report the plan reads; everything else in the file is ignored. */
export interface CapacityReport {
  schemaVersion?: number;
  p99TargetMs: number;
  /** Highest total rate (calls/s) that met the p99 target. */
  callsPerSecond?: number;
  /** Workers the benchmarked cluster had. */
  workers: number;
  callsPerSecondPerWorker?: number;
  steps: CapacityStep[];
}

export type BandId = 'single' | 'small' | 'medium' | 'large';
export type RedisForm = 'none' | 'single' | 'replicated' | 'cluster';
/** `kubernetes-service`: the Service (and the cluster's ingress) spreads requests over the gateways. */
export type LoadBalancer = 'none' | 'nginx' | 'haproxy' | 'kubernetes-service';
export type Platform = 'processes' | 'compose' | 'kubernetes';

/** Where a number in the reasoning came from. */
export type ReasonSource = 'input' | 'report' | 'rule of thumb' | 'assumption' | 'derived' | 'note';

export interface ReasonLine {
  source: ReasonSource;
  text: string;
}

export interface Band {
  id: BandId;
  minUsers: number;
  /** Inclusive; null for the last, open-ended band. */
  maxUsers: number | null;
  label: string;
  /** The guide's words for the band, quoted in the reasoning. */
  summary: string;
}

export interface RulesOfThumbBasis {
  kind: 'rules-of-thumb';
  band: Band;
  /** How the worker count was interpolated inside the band, as a formula with numbers. */
  workersFormula: string;
}

export interface MeasuredBasis {
  kind: 'measured';
  reportFile?: string;
  reportSchemaVersion?: number;
  reportP99TargetMs: number;
  reportWorkers: number;
  /** The p99 target the capacity below is for (the user's, when the steps allowed recomputing). */
  p99TargetMs: number;
  /** Total calls/s the benchmarked cluster sustained at that target. */
  measuredCallsPerSecond: number;
  capacityPerWorker: number;
  /** How capacityPerWorker was obtained. */
  capacitySource: 'report.callsPerSecondPerWorker' | 'report.callsPerSecond / workers' | 'report.steps';
  utilisationTarget: number;
  /** The band the user count falls in; it still decides Redis form, affinity and platform. */
  band: Band;
}

export interface Autoscaling {
  minReplicas: number;
  maxReplicas: number;
  cpuTargetPercent: number;
}

export interface Recommendation {
  workers: number;
  gateways: number;
  loadBalancer: LoadBalancer;
  redis: RedisForm;
  affinity: Affinity;
  sessions: 'stateful';
  platform: Platform;
  /** Per-user budget, in the `--rate-limit` syntax. */
  rateLimit: string;
  /** Per-IP budget for unauthenticated traffic, in the `--ip-rate-limit` syntax; undefined = none. */
  ipRateLimit?: string;
  cache: { recommended: boolean; ttls: { kind: string; ttl: string }[] };
  sessionTtl: string;
  autoscaling?: Autoscaling;
}

export interface PlanCommand {
  purpose: string;
  argv: string[];
  /** argv joined for a shell, starting with `mcp-scale`. */
  line: string;
}

export interface Plan {
  schemaVersion: 1;
  inputs: {
    users: number;
    callsPerUser: string;
    /** users x calls-per-user, in calls per second. */
    demandCallsPerSecond: number;
    p99TargetMs: number;
    reportFile?: string;
  };
  basis: RulesOfThumbBasis | MeasuredBasis;
  recommendation: Recommendation;
  reasoning: ReasonLine[];
  commands: PlanCommand[];
}
