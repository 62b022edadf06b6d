import fs from 'node:fs';
import { UserError } from '../../errors.js';
import type { BenchReport } from '../report-schema.js';
import { finishReport, type BenchIo } from '../run-command.js';
import { parseThreshold } from '../thresholds.js';
import { mergeReports, parseReport } from './merge-reports.js';

/**
 * `mcp-scale bench merge a.json b.json …`: the reports of several load
 * machines (or pods) as one report, with the same outputs as `bench`
 * (table or --json, --out, --html) and the same threshold verdict (exit 99).
 */
export interface BenchMergeFlags {
  json?: boolean;
  out?: string;
  html?: string;
  threshold?: string[];
}

export function runBenchMerge(
  files: readonly string[],
  flags: BenchMergeFlags,
  io: Pick<BenchIo, 'stdout'>,
): BenchReport {
  if (files.length === 0)
    throw new UserError('bench merge needs report files: mcp-scale bench merge a.json b.json');
  const thresholds = (flags.threshold ?? []).map(parseThreshold);
  const reports = files.map((file) => parseReport(readReport(file), file));
  return finishReport(
    mergeReports(reports),
    {
      thresholds,
      output: {
        json: flags.json ?? false,
        ...(flags.out ? { out: flags.out } : {}),
        ...(flags.html ? { html: flags.html } : {}),
      },
    },
    io,
  );
}

function readReport(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`${file}: cannot read the report (${code})`);
  }
}
