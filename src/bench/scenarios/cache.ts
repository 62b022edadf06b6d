import type { Step } from '../types.js';
import { productId, SEARCH_QUERIES, type Scenario, type VuView } from './scenario.js';

/**
 * Repeated reads over a small key set, so a tool-result cache should answer
 * most of them; the hit ratio comes from `_meta["mcp-scale/cache"]` on the
 * results, as the server marked them. `--tool NAME --args JSON` reads one
 * tool with one argument set instead.
 */
const KEYS = 10;

export function createCacheScenario(tool?: string, args?: Record<string, unknown>): Scenario {
  const nextStep = (vu: VuView): Step => {
    if (tool) return { method: 'tools/call', tool, args: args ?? {} };
    const roll = vu.random();
    if (roll < 0.6) {
      return {
        method: 'tools/call',
        tool: 'get_product',
        args: { id: productId(Math.floor(vu.random() * KEYS) + 1) },
      };
    }
    if (roll < 0.9) {
      const query = SEARCH_QUERIES[Math.floor(vu.random() * 3)] ?? 'lamp';
      return { method: 'tools/call', tool: 'search_products', args: { query, limit: 10 } };
    }
    return { method: 'tools/call', tool: 'get_user', args: {} };
  };
  return {
    name: 'cache',
    nextStep,
    summary: (metrics) => {
      const { hits, misses, unmarked } = metrics.cache;
      const marked = hits + misses;
      return {
        name: 'cache',
        hits,
        misses,
        unmarked,
        hitRatio: marked > 0 ? hits / marked : null,
        checks: [
          {
            name: 'results carry the cache marker',
            passed: marked > 0 && unmarked === 0,
            detail: `${marked} results marked, ${unmarked} without _meta["mcp-scale/cache"]`,
          },
        ],
      };
    },
  };
}
