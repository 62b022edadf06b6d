/** The `mcp-scale plan` library API: the CLI in src/cli/commands/plan.ts is a thin wrapper over it. */
export { planTopology, DEFAULT_CALLS_PER_USER, DEFAULT_P99_TARGET_MS } from './plan-topology.js';
export { readCapacityReport, parseCapacityReport, SUPPORTED_REPORT_SCHEMA } from './capacity-report.js';
export { formatPlan } from './format-plan.js';
export { BANDS, bandFor, bandWorkers } from './bands.js';
export { UTILISATION_TARGET } from './measured.js';
export type * from './types.js';
