import type { TargetId } from './targets.js';
import type { ScenarioResult } from './results.js';

/** One target's part of the matrix: its results, or why it did not run. */
export type TargetOutcome =
  | {
      id: TargetId;
      label: string;
      state: 'ran';
      url: string;
      durationMs: number;
      results: ScenarioResult[];
      /** MCP requests each instance served during the suite (from its /metrics), when readable. */
      load?: Record<string, number>;
    }
  | { id: TargetId; label: string; state: 'skipped'; reason: string }
  | { id: TargetId; label: string; state: 'error'; reason: string };

export type Cell = 'pass' | 'warn' | 'fail' | 'skip' | 'error' | 'missing';

export interface MatrixRow {
  scenario: string;
  cells: Partial<Record<TargetId, Cell>>;
}

export interface Difference {
  scenario: string;
  target: TargetId;
  direct: Cell;
  other: Cell;
  detail: string;
}

export function buildRows(outcomes: readonly TargetOutcome[]): MatrixRow[] {
  const names: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.state !== 'ran') continue;
    for (const r of outcome.results) if (!names.includes(r.scenario)) names.push(r.scenario);
  }
  return names.map((scenario) => {
    const cells: MatrixRow['cells'] = {};
    for (const outcome of outcomes) {
      if (outcome.state === 'skipped') cells[outcome.id] = 'skip';
      else if (outcome.state === 'error') cells[outcome.id] = 'error';
      else cells[outcome.id] = outcome.results.find((r) => r.scenario === scenario)?.status ?? 'missing';
    }
    return { scenario, cells };
  });
}

/**
 * Every way a target that ran differs from (a): another status, or the same
 * status reached through different failing checks. A target that could not
 * start differs on every scenario; a skipped one differs on none.
 */
export function findDifferences(outcomes: readonly TargetOutcome[]): Difference[] {
  const direct = outcomes.find((o) => o.id === 'a');
  if (direct?.state !== 'ran') return [];
  const differences: Difference[] = [];
  for (const other of outcomes) {
    if (other.id === 'a' || other.state === 'skipped') continue;
    for (const base of direct.results) {
      if (other.state === 'error') {
        differences.push({
          scenario: base.scenario,
          target: other.id,
          direct: base.status,
          other: 'error',
          detail: other.reason,
        });
        continue;
      }
      const found = other.results.find((r) => r.scenario === base.scenario);
      const otherCell: Cell = found?.status ?? 'missing';
      const baseProblems = problemKey(base);
      const otherProblems = found ? problemKey(found) : 'not run';
      if (otherCell === base.status && baseProblems === otherProblems) continue;
      const detail =
        found?.problems.map((p) => `${p.id}: ${p.message ?? p.status}`).join('; ') || otherProblems;
      differences.push({
        scenario: base.scenario,
        target: other.id,
        direct: base.status,
        other: otherCell,
        detail,
      });
    }
  }
  return differences;
}

function problemKey(result: ScenarioResult): string {
  return result.problems
    .map((p) => `${p.id}=${p.status}`)
    .sort()
    .join(',');
}

export function renderTextTable(outcomes: readonly TargetOutcome[], rows: readonly MatrixRow[]): string {
  const ids = outcomes.map((o) => o.id);
  const width = Math.max(8, ...rows.map((r) => r.scenario.length));
  const lines = [`${'scenario'.padEnd(width)}  ${ids.map((id) => id.padEnd(7)).join(' ')}`];
  lines.push(`${'-'.repeat(width)}  ${ids.map(() => '-------').join(' ')}`);
  for (const row of rows) {
    lines.push(
      `${row.scenario.padEnd(width)}  ${ids.map((id) => (row.cells[id] ?? '').padEnd(7)).join(' ')}`,
    );
  }
  lines.push('', ...outcomes.map(describeOutcome));
  return lines.join('\n');
}

export function renderMarkdownTable(outcomes: readonly TargetOutcome[], rows: readonly MatrixRow[]): string {
  const ids = outcomes.map((o) => o.id);
  const lines = [`| scenario | ${ids.join(' | ')} |`, `| --- | ${ids.map(() => ':-:').join(' | ')} |`];
  for (const row of rows)
    lines.push(`| ${row.scenario} | ${ids.map((id) => row.cells[id] ?? '').join(' | ')} |`);
  lines.push('', ...outcomes.map((o) => `- ${describeOutcome(o)}`));
  return lines.join('\n');
}

function describeOutcome(outcome: TargetOutcome): string {
  const head = `(${outcome.id}) ${outcome.label}`;
  if (outcome.state === 'skipped') return `${head}: skipped: ${outcome.reason}`;
  if (outcome.state === 'error') return `${head}: error: ${outcome.reason.split('\n')[0]}`;
  const count = (status: string) => outcome.results.filter((r) => r.status === status).length;
  const seconds = (outcome.durationMs / 1000).toFixed(1);
  const load = outcome.load && Object.keys(outcome.load).length > 0 ? outcome.load : undefined;
  const spread = load
    ? `; requests per instance: ${Object.entries(load)
        .map(([id, n]) => `${id} ${n}`)
        .join(', ')}`
    : '';
  return `${head}: ${count('pass')} pass, ${count('warn')} warn, ${count('fail')} fail in ${seconds} s${spread}`;
}
