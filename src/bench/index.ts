/**
 * The bench's library API (what `mcp-scale bench` is built on).
 */
export { BenchEngine, runBench } from './engine.js';
export type { BenchEvents, BenchStartEvent, BenchTickEvent } from './engine.js';
export { runBenchCommand } from './run-command.js';
export type { BenchIo } from './run-command.js';
export { resolveBenchPlan, parseMix, parseThink, DEFAULT_URL } from './options.js';
export type { BenchFlags, BenchPlan, CapacityPlan } from './options.js';
export { findCapacity } from './capacity.js';
export { withBenchTarget } from './spawn.js';
export type { ClusterStarter, SpawnRequest, StartedCluster } from './spawn.js';
export { readReadyFile, parseReadyInfo } from './ready-file.js';
export {
  parseThreshold,
  evaluateThresholds,
  applyThresholds,
  failureLines,
  THRESHOLD_METRICS,
} from './thresholds.js';
export type { Threshold } from './thresholds.js';
export { benchReportSchema, reportJsonSchema, REPORT_VERSION, REPORT_SCHEMA_ID } from './report-schema.js';
export type { BenchReport, CapacityResult, ScenarioSummary } from './report-schema.js';
export { renderHtmlReport } from './html-report.js';
export { formatSummary } from './summary-table.js';
export { parseRamp, parsePerSecond, ArrivalSchedule } from './load-profile.js';
export type {
  BenchOptions,
  BenchTarget,
  ClientBehaviour,
  Era,
  EraChoice,
  ReadyInfo,
  ResponseRecord,
  ScenarioName,
  Step,
} from './types.js';
