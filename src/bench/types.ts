import type { UserStage } from './load/user-stages.js';
import type { UserSlice } from './load/vu-factory.js';

/**
 * Types shared by the bench engine, its scenarios, the report and the
 * display. The engine produces ResponseRecords; everything else (metrics,
 * dashboard, report) only consumes them.
 */

/** The two MCP wire eras a virtual user can speak. */
export type Era = '2025' | '2026';
export type EraChoice = Era | 'mixed';

export const SCENARIO_NAMES = [
  'mixed',
  'affinity',
  'ratelimit',
  'cache',
  'failover',
  'raw',
  'script',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** One request a scenario asks a virtual user to send (one iteration). */
export type Step =
  | { method: 'tools/list' }
  | { method: 'ping' }
  | {
      method: 'tools/call';
      tool: string;
      args: Record<string, unknown>;
      /** Ask for progress notifications (the call streams). */
      progress?: boolean;
    };

/** Methods recorded for session set-up rather than for the scenario's own requests. */
export const SETUP_METHODS: ReadonlySet<string> = new Set(['initialize', 'server/discover']);

export type ErrorKind = string; // `http_429`, `rpc_-32602`, `timeout`, `network`, `tool_error`, `client_error`, ...

/** What the bench saw for one JSON-RPC request. */
export interface ResponseRecord {
  /** Completion time, ms since the bench started. */
  at: number;
  /** When the request was meant to be sent, ms since the bench started. */
  intendedAt: number;
  /** at - intendedAt: latency from the intended send time (no coordinated omission). */
  latencyMs: number;
  era: Era;
  vu: number;
  method: string;
  tool?: string;
  ok: boolean;
  /** HTTP status of the POST that carried the request, when one arrived. */
  status?: number;
  /** JSON-RPC error code, from an error response body or a thrown protocol error. */
  rpcCode?: number;
  errorKind?: ErrorKind;
  errorMessage?: string;
  /** `Mcp-Scale-Instance` response header: which worker served it. */
  instance?: string;
  /** 2025 session the request ran on. */
  sessionId?: string;
  /** This request opened a session (a successful initialize that returned an id). */
  sessionOpened?: boolean;
  /** The server said the session is gone (404 on a request carrying the session id). */
  sessionLost?: boolean;
  /** HTTP 429. */
  limited?: boolean;
  /** Retry-After on a 429, in ms (undefined = the header was absent). */
  retryAfterMs?: number;
  /** Rate-limit headers present on the response (lower-case names). */
  rateLimitHeaders?: Record<string, string>;
  /** `_meta["mcp-scale/cache"]` on a tool result. */
  cache?: 'hit' | 'miss';
  /** Progress notifications received while the call ran. */
  progressEvents?: number;
  /** Negotiated protocol version, on session set-up records. */
  protocolVersion?: string;
}

/** How a virtual user behaves, as real clients differ. */
export interface ClientBehaviour {
  /** On a 404 for its session, open a new session (else keep failing). */
  reinitOn404: boolean;
  /** Open a new session for every call (and DELETE it after). */
  sessionPerCall: boolean;
  /** Wait Retry-After before the next call after a 429. */
  honourRetryAfter: boolean;
}

/** One stage of an open-model arrival profile: linear from `fromPerSecond` to `toPerSecond`. */
export interface RateStage {
  fromPerSecond: number;
  toPerSecond: number;
  durationMs: number;
}

export type LoadModel =
  | {
      kind: 'closed';
      /** The most users at once (the peak of `stages`). */
      clients: number;
      thinkMinMs: number;
      thinkMaxMs: number;
      /** Users over time; absent when only --iterations bounds the run (all users from the start). */
      stages?: UserStage[];
    }
  | { kind: 'open'; stages: RateStage[]; maxClients: number; preAllocate: number };

/** Fully resolved options the engine runs with (the CLI builds these). */
export interface BenchOptions {
  url: string;
  scenario: ScenarioName;
  model: LoadModel;
  /** Share of virtual users per era, in percent (sums to 100). */
  mix: Record<Era, number>;
  /** Run for this long (closed model; the open model runs its stages). */
  durationMs?: number;
  /** Stop after this many iterations in total. */
  iterations?: number;
  timeoutMs: number;
  gracefulStopMs: number;
  behaviour: ClientBehaviour;
  /** Extra request headers (e.g. Authorization). */
  headers: Record<string, string>;
  seed: number;
  /** Scenario inputs. */
  expectLimit?: { points: number; durationMs: number };
  tool?: string;
  toolArgs?: Record<string, unknown>;
  scriptFile?: string;
  readyFile?: string;
  killAtMs?: number;
  killInstance?: string;
  /** failover: which tier to kill (default worker). */
  killTarget?: KillTarget;
  /** failover: kill again this often until the load ends. */
  killEveryMs?: number;
  /** mixed: include the 1 s streamed report (default true; find-capacity leaves it out). */
  slowCalls?: boolean;
  /** The client virtual users run: the MCP SDKs (default) or the lean wire client. */
  client?: 'sdk' | 'lean';
  /** Load processes the users are split across (--procs; 1 = this process only). */
  procs?: number;
  /** Inside one of those processes: which users are its own. */
  userSlice?: UserSlice;
  /** How often the engine emits `tick` events. */
  tickMs: number;
}

export const KILL_TARGETS = ['worker', 'gateway', 'redis'] as const;
export type KillTarget = (typeof KILL_TARGETS)[number];

/** What the bench knows about a local cluster (from `serve --ready-file` or --spawn). */
export interface ReadyInfo {
  url: string;
  instances: { id: string; pid: number; port: number }[];
  /** `serve --gateways N`: each gateway and its own (admin) port. */
  gateways?: { id: string; pid: number; port: number }[];
  /** A Redis the supervisor started: its pid, or the current primary's (and replica's) with `--redis ha`. */
  redis?: {
    mode?: string;
    pid?: number;
    primary?: { pid: number; port: number };
    replica?: { pid: number; port: number };
  };
}

export interface BenchTarget {
  url: string;
  readyInfo?: ReadyInfo;
  /** The cluster as it is now (pids change when the supervisor restarts a process). */
  currentReadyInfo?: () => ReadyInfo;
}
