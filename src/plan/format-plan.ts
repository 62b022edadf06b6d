import { fmt } from './measured.js';
import type { Plan, Recommendation } from './types.js';

/**
 * The human rendering of a plan: a header, the recommendation as a table,
 * the reasoning line by line with where each number came from, then the
 * commands. Everything shown is in the Plan object (--json prints it whole).
 */
export function formatPlan(plan: Plan): string {
  const { inputs, basis, recommendation: rec } = plan;
  const lines: string[] = [];
  lines.push(
    `Plan for ${inputs.users} concurrent users, ${inputs.callsPerUser} calls each ` +
      `(${fmt(inputs.demandCallsPerSecond)} calls/s), p99 target ${inputs.p99TargetMs} ms`,
  );
  if (basis.kind === 'rules-of-thumb') {
    lines.push(
      `Basis: rules of thumb for ${basis.band.label}, not a measurement. Bench your server and use --from-report for numbers.`,
    );
  } else {
    lines.push(
      `Basis: measured, ${fmt(basis.capacityPerWorker)} calls/s per worker at p99 <= ${basis.p99TargetMs} ms ` +
        `from ${basis.reportFile ?? 'the report'}, planned at ${basis.utilisationTarget * 100}% utilisation.`,
    );
  }
  lines.push('', 'Recommendation');
  for (const [name, value] of recommendationRows(rec)) lines.push(`  ${name.padEnd(14)}${value}`);
  lines.push('', 'Reasoning');
  const width = Math.max(...plan.reasoning.map((line) => line.source.length)) + 3;
  for (const line of plan.reasoning) lines.push(`  ${`[${line.source}]`.padEnd(width)}${line.text}`);
  lines.push('', 'Commands');
  for (const command of plan.commands) lines.push(`  # ${command.purpose}`, `  ${command.line}`);
  return `${lines.join('\n')}\n`;
}

function recommendationRows(rec: Recommendation): [string, string][] {
  const rows: [string, string][] = [
    ['workers', String(rec.workers)],
    [
      'gateways',
      rec.loadBalancer === 'none' ? String(rec.gateways) : `${rec.gateways} behind ${balancerName(rec)}`,
    ],
    ['Redis', rec.redis],
    ['affinity', rec.affinity],
    ['sessions', `${rec.sessions}, TTL ${rec.sessionTtl}`],
    ['rate limit', `${rec.rateLimit} per user` + (rec.ipRateLimit ? `, ${rec.ipRateLimit} per IP` : '')],
    [
      'tool cache',
      rec.cache.recommended
        ? rec.cache.ttls.map((entry) => `${entry.ttl} ${entry.kind}`).join('; ')
        : 'optional',
    ],
    ['platform', rec.platform],
  ];
  if (rec.autoscaling) {
    const { minReplicas, maxReplicas, cpuTargetPercent } = rec.autoscaling;
    rows.push(['autoscaling', `HPA ${minReplicas}-${maxReplicas} replicas at ${cpuTargetPercent}% CPU`]);
  }
  return rows;
}

function balancerName(rec: Recommendation): string {
  return rec.loadBalancer === 'kubernetes-service' ? 'the Kubernetes Service' : rec.loadBalancer;
}
