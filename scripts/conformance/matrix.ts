import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../src/errors.js';
import { resolveConformanceCli, runConformanceSuite, type ConformanceCli } from './conformance-cli.js';
import { judgeDirectRun, type DirectVerdict } from './known-results.js';
import {
  buildRows,
  findDifferences,
  renderMarkdownTable,
  renderTextTable,
  type Difference,
  type MatrixRow,
  type TargetOutcome,
} from './report.js';
import {
  formatLoad,
  instancesOf,
  readRequestCounts,
  requestsBetween,
  spreadProblem,
} from './instance-load.js';
import { startTarget } from './target-process.js';
import { TARGETS, targetUnavailableReason, type TargetId, type TargetSpec } from './targets.js';

export interface MatrixOptions {
  /** Project root: bin/, dist/. */
  root: string;
  /** The server module every target hosts (built .js). */
  serverModule: string;
  suite?: 'active' | 'all';
  targets?: TargetId[];
  /** Logs, per-scenario checks.json and the markdown table go here. */
  outputDir?: string;
  packageSpec?: string;
  /** Progress lines (target started, suite finished); silent by default. */
  log?: (line: string) => void;
  /** Injected in tests; resolved through npx otherwise. */
  cli?: ConformanceCli;
  /** The target table; TARGETS unless a test substitutes its own. */
  specs?: readonly TargetSpec[];
}

export interface MatrixReport {
  cli: ConformanceCli;
  outputDir: string;
  outcomes: TargetOutcome[];
  rows: MatrixRow[];
  differences: Difference[];
  direct: DirectVerdict;
  text: string;
  markdown: string;
  markdownFile: string;
  /** True when every target ran, (b)/(c) match (a) and (a) matches its known results. */
  ok: boolean;
}

/**
 * Runs the official suite against each target in turn (one at a time: the
 * machine has two cores, and timing-sensitive scenarios must not starve),
 * then compares every target with (a).
 */
export async function runConformanceMatrix(options: MatrixOptions): Promise<MatrixReport> {
  const log = options.log ?? (() => {});
  const outputDir =
    options.outputDir ??
    path.join(os.tmpdir(), `mcp-scale-conformance-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await fs.mkdir(outputDir, { recursive: true });
  const cli = options.cli ?? (await resolveConformanceCli({ packageSpec: options.packageSpec }));
  log(`conformance CLI ${cli.packageSpec} on node ${cli.nodeVersion}`);

  const specs = options.specs ?? TARGETS;
  const wanted = options.targets ?? specs.map((t) => t.id);
  const outcomes: TargetOutcome[] = [];
  for (const target of specs.filter((t) => wanted.includes(t.id))) {
    outcomes.push(await runTarget(target, cli, { ...options, outputDir }, log));
  }

  const rows = buildRows(outcomes);
  const differences = findDifferences(outcomes);
  const directOutcome = outcomes.find((o) => o.id === 'a');
  const direct: DirectVerdict =
    directOutcome?.state === 'ran' ? judgeDirectRun(directOutcome.results) : { unexpected: [], stale: [] };
  const directBroken = directOutcome !== undefined && directOutcome.state !== 'ran';
  // Every target asked for must run: a skipped (b) or (c) would let CI pass without them.
  const skipped = outcomes.some((o) => o.state === 'skipped');
  const markdown = renderMarkdownTable(outcomes, rows);
  const markdownFile = path.join(outputDir, 'conformance.md');
  await fs.writeFile(markdownFile, `${markdown}\n`);
  return {
    cli,
    outputDir,
    outcomes,
    rows,
    differences,
    direct,
    text: renderTextTable(outcomes, rows),
    markdown,
    markdownFile,
    ok:
      !directBroken &&
      !skipped &&
      differences.length === 0 &&
      direct.unexpected.length === 0 &&
      direct.stale.length === 0,
  };
}

async function runTarget(
  target: TargetSpec,
  cli: ConformanceCli,
  options: MatrixOptions & { outputDir: string },
  log: (line: string) => void,
): Promise<TargetOutcome> {
  const base = { id: target.id, label: target.label };
  const dir = path.join(options.outputDir, target.id);
  await fs.mkdir(dir, { recursive: true });
  const paths = {
    root: options.root,
    serverModule: options.serverModule,
    readyFile: path.join(dir, 'ready.json'),
  };
  const unavailable = targetUnavailableReason(target, paths);
  if (unavailable) {
    log(`(${target.id}) skipped: ${unavailable}`);
    return { ...base, state: 'skipped', reason: unavailable };
  }
  let running;
  try {
    running = await startTarget({
      argv: target.argv(paths),
      readyFile: paths.readyFile,
      logFile: path.join(dir, 'target.log'),
      cwd: options.root,
      timeoutMs: target.startTimeoutMs,
    });
  } catch (error) {
    log(`(${target.id}) failed to start: ${errorMessage(error)}`);
    return { ...base, state: 'error', reason: errorMessage(error) };
  }
  try {
    await fs.writeFile(path.join(dir, 'ready-info.json'), JSON.stringify(running.ready, null, 2));
    const wrongShape = target.checkReady?.(running.ready);
    if (wrongShape) {
      log(`(${target.id}) not what it claims: ${wrongShape}`);
      return { ...base, state: 'error', reason: wrongShape };
    }
    log(
      `(${target.id}) ${target.label} ready at ${running.ready.url}; running the ${options.suite ?? 'active'} suite`,
    );
    const instances = instancesOf(running.ready);
    const countsBefore = await readRequestCounts(instances);
    const run = await runConformanceSuite(cli, {
      url: running.ready.url,
      suite: options.suite ?? 'active',
      outputDir: path.join(dir, 'results'),
      logFile: path.join(dir, 'conformance.log'),
    });
    if (run.timedOut)
      return { ...base, state: 'error', reason: `suite timed out (log: ${dir}/conformance.log)` };
    const load = requestsBetween(countsBefore, await readRequestCounts(instances));
    log(`(${target.id}) requests per instance: ${formatLoad(load) || 'not readable'}`);
    const notSpread = target.spreadOver ? spreadProblem(load, target.spreadOver) : undefined;
    if (notSpread) {
      log(`(${target.id}) not what it claims: ${notSpread}`);
      return { ...base, state: 'error', reason: `not spread over its instances: ${notSpread}` };
    }
    return {
      ...base,
      state: 'ran',
      url: running.ready.url,
      durationMs: run.durationMs,
      results: run.scenarios,
      load,
    };
  } finally {
    await running.stop();
  }
}
