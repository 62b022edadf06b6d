import { UserError } from '../../errors.js';
import type { BenchOptions, ResponseRecord } from '../types.js';
import { popularProductId, type Scenario } from './scenario.js';

/**
 * Sessions and their instances: 2025 clients keep calling on one session
 * and the bench counts every request answered by another instance than
 * the previous one on that session (the engine counts; this judges).
 */
export function createAffinityScenario(options: BenchOptions): Scenario {
  if (options.mix['2025'] === 0) {
    throw new UserError('--scenario affinity needs 2025-era clients (sessions): use --era 2025 or mixed');
  }
  let responsesWithoutInstance = 0;
  return {
    name: 'affinity',
    nextStep: (vu) =>
      vu.iteration % 2 === 0
        ? { method: 'tools/call', tool: 'get_product', args: { id: popularProductId(vu.random) } }
        : { method: 'tools/call', tool: 'get_inventory', args: { id: popularProductId(vu.random) } },
    observe: (record: ResponseRecord) => {
      if (record.era === '2025' && record.status !== undefined && !record.instance)
        responsesWithoutInstance += 1;
    },
    summary: (metrics) => {
      const { opened, lost, instanceChanges, sessionsWithInstanceChange } = metrics.sessions;
      return {
        name: 'affinity',
        sessions: opened,
        sessionsWithInstanceChange,
        instanceChanges,
        responsesWithoutInstance,
        checks: [
          {
            name: 'sessions stayed on their instance',
            passed: instanceChanges === 0 && responsesWithoutInstance === 0,
            detail:
              responsesWithoutInstance > 0
                ? `${responsesWithoutInstance} responses had no Mcp-Scale-Instance header: affinity cannot be judged`
                : `${instanceChanges} requests changed instance within ${sessionsWithInstanceChange} of ${opened} sessions`,
          },
          { name: 'no session lost', passed: lost === 0, detail: `${lost} of ${opened} sessions lost` },
        ],
      };
    },
  };
}
