import type { Command } from 'commander';
import type { RateSpec } from '../../config/rate.js';
import { durationArg, intArg, printJson, rateArg, withExamples } from '../options.js';

interface PlanOptions {
  users: number;
  callsPerUser?: RateSpec;
  p99?: number;
  fromReport?: string;
  json?: boolean;
}

/** `mcp-scale plan`: commander wiring only; the planning is src/plan/. */
export function registerPlanCommand(program: Command): void {
  const command = program
    .command('plan')
    .description(
      'Recommend a topology for N users (workers, gateways, Redis, affinity, limits, autoscaling) and print the commands that build it',
    )
    .requiredOption('--users <n>', 'peak concurrent users', intArg(1, 100_000_000))
    .option('--calls-per-user <rate>', 'calls each user makes, POINTS/WINDOW (default: 10/1m)', rateArg)
    .option(
      '--p99 <duration>',
      "p99 latency target, e.g. 250ms (default: the report's target, else 250ms)",
      durationArg,
    )
    .option('--from-report <file>', 'size workers from a `bench --find-capacity` JSON report')
    .option('--json', 'print the whole plan as JSON')
    .action(async (options: PlanOptions) => {
      const { planTopology, readCapacityReport, formatPlan, DEFAULT_CALLS_PER_USER } =
        await import('../../plan/index.js');
      const report = options.fromReport ? await readCapacityReport(options.fromReport) : undefined;
      const plan = planTopology({
        users: options.users,
        callsPerUser: options.callsPerUser ?? DEFAULT_CALLS_PER_USER,
        ...(options.p99 === undefined ? {} : { p99TargetMs: options.p99 }),
        ...(report ? { report, reportFile: options.fromReport } : {}),
      });
      if (options.json) printJson(plan);
      else process.stdout.write(formatPlan(plan));
    });
  withExamples(command, [
    'mcp-scale plan --users 50',
    'mcp-scale plan --users 400 --calls-per-user 30/1m',
    'mcp-scale plan --users 5000 --p99 250ms --from-report bench.json',
    'mcp-scale plan --users 200 --json',
  ]);
}
