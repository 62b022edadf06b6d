import type { Step } from '../types.js';
import { popularProductId, SEARCH_QUERIES, weightedPick, type Scenario, type VuView } from './scenario.js';

/**
 * The default workload: a shop's clients over the demo tools. A fresh
 * session starts with tools/list, as real clients do; after that reads
 * dominate, a few writes, and the odd slow streamed report (0.5%: rare
 * enough to show in p99.9 and max but not to decide p99).
 */
const MIX = [
  ['get_product', 30],
  ['search_products', 18],
  ['get_inventory', 15],
  ['get_user', 10],
  ['tools/list', 10],
  ['update_inventory', 8],
  ['generate_report', 0.5],
] as const;

const MIX_WITHOUT_REPORTS = MIX.filter(([tool]) => tool !== 'generate_report');

/** One step of shop traffic; `slowCalls: false` leaves out the 1 s streamed report. */
export function shopStep(vu: VuView, slowCalls = true): Step {
  if (vu.iteration === 0) return { method: 'tools/list' };
  const choice = weightedPick(slowCalls ? MIX : MIX_WITHOUT_REPORTS, vu.random);
  switch (choice) {
    case 'tools/list':
      return { method: 'tools/list' };
    case 'get_product':
    case 'get_inventory':
      return { method: 'tools/call', tool: choice, args: { id: popularProductId(vu.random) } };
    case 'search_products':
      return {
        method: 'tools/call',
        tool: choice,
        args: { query: SEARCH_QUERIES[Math.floor(vu.random() * SEARCH_QUERIES.length)] ?? 'lamp', limit: 10 },
      };
    case 'get_user':
      return { method: 'tools/call', tool: choice, args: {} };
    case 'update_inventory':
      return {
        method: 'tools/call',
        tool: choice,
        args: { id: popularProductId(vu.random), delta: vu.random() < 0.5 ? -1 : 1 },
      };
    case 'generate_report':
      return { method: 'tools/call', tool: choice, args: { seconds: 1 }, progress: true };
  }
}

export function createMixedScenario(slowCalls = true): Scenario {
  return {
    name: 'mixed',
    nextStep: (vu) => shopStep(vu, slowCalls),
    summary: () => ({ name: 'mixed', checks: [] }),
  };
}
