import { UserError } from '../../errors.js';
import type { BenchOptions, BenchTarget } from '../types.js';
import { createAffinityScenario } from './affinity.js';
import { createCacheScenario } from './cache.js';
import { createFailoverScenario } from './failover.js';
import { createMixedScenario } from './mixed.js';
import { createRateLimitScenario } from './ratelimit.js';
import type { Scenario } from './scenario.js';
import { createScriptScenario, readScript } from './script.js';

/** The virtual-user scenarios (`raw` drives autocannon instead: see raw-runner.ts). */
export function createScenario(options: BenchOptions, target: BenchTarget): Scenario {
  switch (options.scenario) {
    case 'mixed':
      return createMixedScenario(options.slowCalls ?? true);
    case 'affinity':
      return createAffinityScenario(options);
    case 'ratelimit':
      return createRateLimitScenario(options.expectLimit, options.tool, options.toolArgs);
    case 'cache':
      return createCacheScenario(options.tool, options.toolArgs);
    case 'failover':
      return createFailoverScenario(options, target);
    case 'script': {
      if (!options.scriptFile) throw new UserError('--scenario script needs --script FILE');
      return createScriptScenario(options.scriptFile, readScript(options.scriptFile));
    }
    case 'raw':
      throw new Error('the raw scenario runs autocannon, not virtual users');
  }
}

export type { Scenario, ScenarioContext, VuView } from './scenario.js';
