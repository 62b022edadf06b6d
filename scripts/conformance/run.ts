/**
 * `npm run conformance`: the official MCP conformance suite against the
 * conformance server three ways, (a) one `mcp-scale worker`, (b) `serve --instances 3`,
 * (c) `serve --lb nginx --affinity session`, printed as a scenario x a/b/c
 * table (also written as markdown). Exit 0 when every target ran, (b) and
 * (c) match (a) and (a) matches its known results; 1 otherwise; 2 on a bad
 * flag.
 *
 *   node dist-dev/scripts/conformance/run.js [--suite active|all] [--targets a,b,c]
 *     [--server dist/examples/conformance-server.js] [--out DIR] [--json]
 */
import { projectRoot } from '../project-root.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, exitCodeFor, UserError } from '../../src/errors.js';
import { DIRECT_KNOWN_RESULTS } from './known-results.js';
import { runConformanceMatrix, type MatrixReport } from './matrix.js';
import type { TargetId } from './targets.js';

const root = projectRoot(import.meta.url);

function parseOptions(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        suite: { type: 'string', default: 'active' },
        targets: { type: 'string', default: 'a,b,c' },
        server: { type: 'string', default: path.join(root, 'dist', 'examples', 'conformance-server.js') },
        out: { type: 'string' },
        package: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UserError(errorMessage(error));
  }
  const suite: 'active' | 'all' = values.suite === 'all' ? 'all' : 'active';
  if (values.suite !== suite) throw new UserError(`--suite: expected active or all`);
  const targets = values.targets.split(',').map((t) => t.trim());
  const bad = targets.filter((t) => !['a', 'b', 'c'].includes(t));
  if (bad.length > 0 || targets.length === 0)
    throw new UserError(`--targets: expected a comma list of a, b, c`);
  return { ...values, suite, targets: targets as TargetId[], server: path.resolve(values.server) };
}

function printReport(report: MatrixReport): void {
  console.log(`\n${report.text}\n`);
  // A target that never ran differs on every scenario for one reason: say it once.
  for (const o of report.outcomes) {
    if (o.state === 'error') console.log(`DIFFERENCE (${o.id}) ${o.label} did not run: ${o.reason}`);
    if (o.state === 'skipped') console.log(`NOT RUN (${o.id}) ${o.label}: ${o.reason}`);
  }
  for (const d of report.differences.filter((d) => d.other !== 'error')) {
    console.log(`DIFFERENCE ${d.scenario}: (a) ${d.direct}, (${d.target}) ${d.other}: ${d.detail}`);
  }
  for (const u of report.direct.unexpected) {
    console.log(`UNEXPECTED (a) ${u.scenario}: expected ${u.expected}, got ${u.actual}`);
  }
  for (const s of report.direct.stale)
    console.log(`STALE known result for ${s}: it passes now; update known-results.ts`);
  for (const [scenario, known] of Object.entries(DIRECT_KNOWN_RESULTS)) {
    if (report.rows.some((r) => r.scenario === scenario))
      console.log(`known (a) ${known.status}: ${scenario}: ${known.reason}`);
  }
  console.log(`\nmarkdown table: ${report.markdownFile}\nlogs and checks.json: ${report.outputDir}`);
  console.log(report.ok ? 'conformance: OK' : 'conformance: FAILED');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const report = await runConformanceMatrix({
    root,
    serverModule: options.server,
    suite: options.suite,
    targets: options.targets,
    outputDir: options.out ? path.resolve(options.out) : undefined,
    packageSpec: options.package,
    log: options.json ? undefined : (line) => console.log(line),
  });
  if (options.json) {
    const { outcomes, rows, differences, direct, markdownFile, outputDir, ok } = report;
    console.log(
      JSON.stringify({ ok, rows, differences, direct, outcomes, markdownFile, outputDir }, null, 2),
    );
  } else {
    printReport(report);
  }
  process.exitCode = report.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(`conformance: ${errorMessage(error)}`);
  process.exitCode = exitCodeFor(error);
});
