import fs from 'node:fs';
import { resolveClusterConfig } from '../config/settings/resolve.js';
import type { SettingInputs } from '../config/settings/types.js';
import { ThresholdError } from '../errors.js';
import { findFreePort } from '../util/net.js';
import { findCapacity } from './capacity.js';
import { BenchEngine } from './engine.js';
import { renderHtmlReport } from './html-report.js';
import { resolveBenchPlan, type BenchFlags, type BenchPlan } from './options.js';
import type { BenchReport } from './report-schema.js';
import { withBenchTarget, type ClusterStarter, type SpawnRequest } from './spawn.js';
import { formatSummary } from './summary-table.js';
import { applyThresholds, failureLines } from './thresholds.js';
import type { BenchTarget } from './types.js';
import type { BenchEventSource } from '../ui/bench-view-model.js';

/**
 * `mcp-scale bench` as a library call: resolve the flags, find the target,
 * run (with a dashboard, plain lines or nothing), write the outputs, then
 * judge the thresholds (ThresholdError → exit 99). Outputs are written
 * before the verdict so a failing CI run still leaves its report.
 */
export interface BenchIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  /** For --spawn; the CLI passes the supervisor's startCluster. */
  startCluster?: ClusterStarter;
  /** Cluster settings for --spawn: serve's flags (by setting name) and its --config file. */
  clusterSettings?: SettingInputs;
  configFile?: string;
}

export async function runBenchCommand(flags: BenchFlags, io: BenchIo): Promise<BenchReport> {
  const plan = resolveBenchPlan(flags);
  const spawn = plan.spawn ? await spawnConfig(io.clusterSettings ?? {}, io.configFile) : undefined;
  const report = await withBenchTarget(
    {
      ...(plan.url ? { url: plan.url } : {}),
      ...(flags.readyFile ? { readyFile: flags.readyFile } : {}),
      ...(spawn ? { spawn } : {}),
    },
    io.startCluster,
    (target) => runPlan(plan, target, io),
  );
  return finishReport(report, plan, io);
}

/** Judges the thresholds, writes the outputs (before the verdict, so a failing CI run keeps them), then fails. */
export function finishReport(
  report: BenchReport,
  plan: Pick<BenchPlan, 'thresholds' | 'output'>,
  io: Pick<BenchIo, 'stdout'>,
): BenchReport {
  applyThresholds(report, plan.thresholds);
  writeOutputs(report, plan, io);
  if (!report.passed) throw new ThresholdError(failureLines(report.thresholds));
  return report;
}

/** serve's settings for --spawn, on a free port unless one was asked for. */
async function spawnConfig(flags: SettingInputs, configFile: string | undefined): Promise<SpawnRequest> {
  const config = resolveClusterConfig({ command: 'serve', flags, configFile });
  if (flags.port === undefined) config.port = await findFreePort(config.host);
  return { config };
}

type Display = (engine: BenchEventSource) => { close(): void };
type RunningBench = BenchEventSource & { stop(): void };

/** The dashboard on a TTY, plain lines otherwise, nothing with --json; loaded before the run starts. */
async function loadDisplay(plan: BenchPlan, io: BenchIo): Promise<Display | undefined> {
  if (plan.output.json) return undefined;
  if (io.stdout.isTTY) {
    const { mountDashboard } = await import('../ui/dashboard.js');
    return (engine) => mountDashboard(engine, io.stdout as NodeJS.WriteStream);
  }
  const { attachPlainProgress } = await import('../ui/plain-progress.js');
  return (engine) => attachPlainProgress(engine, (line) => io.stdout.write(`${line}\n`));
}

async function runPlan(plan: BenchPlan, target: BenchTarget, io: BenchIo): Promise<BenchReport> {
  const options = { ...plan.options, url: target.url };
  const display = await loadDisplay(plan, io);
  let current: { engine: RunningBench; display?: { close(): void } } | undefined;
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
    current?.engine.stop();
  };
  const attach = (engine: RunningBench): void => {
    current?.display?.close();
    current = { engine, ...(display ? { display: display(engine) } : {}) };
  };
  process.once('SIGINT', onInterrupt);
  try {
    if (plan.capacity) {
      return await findCapacity(options, target, plan.capacity, {
        onEngine: attach,
        stopped: () => interrupted,
      });
    }
    const procs = options.procs ?? 1;
    const engine =
      procs > 1
        ? new (await import('./procs/procs-engine.js')).ProcsEngine(options, target, procs)
        : new BenchEngine(options, target);
    attach(engine);
    return await engine.run();
  } finally {
    current?.display?.close();
    process.removeListener('SIGINT', onInterrupt);
  }
}

function writeOutputs(
  report: BenchReport,
  plan: Pick<BenchPlan, 'output'>,
  io: Pick<BenchIo, 'stdout'>,
): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (plan.output.out) fs.writeFileSync(plan.output.out, json);
  if (plan.output.html) fs.writeFileSync(plan.output.html, renderHtmlReport(report));
  io.stdout.write(plan.output.json ? json : `\n${formatSummary(report)}`);
}
