import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * What one scenario came to. The suite's checks are SUCCESS, FAILURE,
 * WARNING or INFO; its own exit code counts only FAILURE, its baseline mode
 * counts WARNING too. Both are kept apart here: `warn` is a SHOULD missed.
 */
export type ScenarioStatus = 'pass' | 'warn' | 'fail';

export interface CheckOutcome {
  id: string;
  status: string;
  message?: string;
}

export interface ScenarioResult {
  scenario: string;
  status: ScenarioStatus;
  passed: number;
  failed: number;
  warnings: number;
  /** Every FAILURE and WARNING check, for the report and for comparing targets. */
  problems: CheckOutcome[];
}

interface RawCheck {
  id?: unknown;
  status?: unknown;
  errorMessage?: unknown;
}

const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
const SCENARIO_LINE = /^Running client scenario '([^']+)' against server/;

export function summarizeChecks(scenario: string, checks: RawCheck[]): ScenarioResult {
  const problems: CheckOutcome[] = [];
  let passed = 0;
  for (const check of checks) {
    const status = String(check.status);
    if (status === 'SUCCESS') passed += 1;
    if (status !== 'FAILURE' && status !== 'WARNING') continue;
    const outcome: CheckOutcome = { id: String(check.id), status };
    if (typeof check.errorMessage === 'string') outcome.message = check.errorMessage;
    problems.push(outcome);
  }
  const failed = problems.filter((p) => p.status === 'FAILURE').length;
  const warnings = problems.length - failed;
  const status: ScenarioStatus = failed > 0 ? 'fail' : warnings > 0 ? 'warn' : 'pass';
  return { scenario, status, passed, failed, warnings, problems };
}

/**
 * Reads a suite run back: the scenario list, in order, from the CLI's
 * stdout; each scenario's checks from its `checks.json`. A scenario the CLI
 * announced but wrote no checks for (it threw, or the run was killed) is a
 * failure, not a silent gap.
 */
export async function parseSuiteRun(stdout: string, outputDir: string): Promise<ScenarioResult[]> {
  const announced = stdout
    .split('\n')
    .map((line) => SCENARIO_LINE.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
  const byScenario = new Map<string, ScenarioResult>();
  const entries = await fs.readdir(outputDir).catch(() => [] as string[]);
  for (const entry of entries.sort()) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    if (!scenario) continue;
    const text = await fs.readFile(path.join(outputDir, entry, 'checks.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    byScenario.set(scenario, summarizeChecks(scenario, JSON.parse(text) as RawCheck[]));
  }
  const order = [...new Set([...announced, ...byScenario.keys()])];
  return order.map(
    (scenario) =>
      byScenario.get(scenario) ??
      summarizeChecks(scenario, [
        {
          id: scenario,
          status: 'FAILURE',
          errorMessage: 'no checks.json: the scenario threw or the run was cut short',
        },
      ]),
  );
}
