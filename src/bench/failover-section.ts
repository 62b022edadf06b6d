import type { BenchReport, ScenarioSummary } from './report-schema.js';

/**
 * The failover scenario's kills, one row each, for the text summary and the
 * HTML report: when, which process, how long until the clients recovered and
 * the supervisor replaced it, the errors clients saw and sessions kept/lost.
 */
type FailoverSummary = Extract<ScenarioSummary, { name: 'failover' }>;
type Kill = FailoverSummary['kills'][number];

export const KILL_COLUMNS = [
  'kill',
  'at',
  'process',
  'recovered',
  'replaced',
  'errors',
  'error window',
  'sessions kept',
  'lost',
] as const;

export function failoverOf(report: BenchReport): FailoverSummary | undefined {
  return report.scenario.name === 'failover' ? report.scenario : undefined;
}

export function killRow(kill: Kill): string[] {
  const after = (value: number | null, none: string) => (value === null ? none : `${value} ms`);
  if (kill.skipped !== null)
    return [String(kill.n), seconds(kill.atMs), `skipped: ${kill.skipped}`, '', '', '', '', '', ''];
  return [
    String(kill.n),
    seconds(kill.atMs),
    `${kill.id === kill.target ? kill.target : `${kill.target} ${kill.id}`} pid ${kill.pid}`,
    after(kill.recoveredAfterMs, 'not recovered'),
    kill.replacedByPid === null ? 'not seen' : `${kill.replacedAfterMs} ms (pid ${kill.replacedByPid})`,
    kill.errors === 0
      ? '0'
      : `${kill.errors} (${Object.entries(kill.errorsByKind)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')})`,
    kill.errorWindow ? `+${kill.errorWindow.firstMs}..+${kill.errorWindow.lastMs} ms` : '-',
    `${kill.sessionsKept} of ${kill.sessionsActive}${kill.sessionsNotSeenAgain > 0 ? ` (${kill.sessionsNotSeenAgain} not seen again)` : ''}`,
    String(kill.sessionsLost),
  ];
}

/** Text lines for the summary table (empty for other scenarios). */
export function failoverLines(report: BenchReport): string[] {
  const failover = failoverOf(report);
  if (!failover || failover.kills.length === 0) return [];
  const rows = [[...KILL_COLUMNS], ...failover.kills.map(killRow)];
  const widths = KILL_COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return [
    `kills      ${failover.kill}${failover.killEveryMs ? `, every ${failover.killEveryMs} ms` : ''}`,
    ...rows.map(
      (row) =>
        `  ${row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}`,
    ),
  ];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
