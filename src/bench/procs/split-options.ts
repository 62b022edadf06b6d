import os from 'node:os';
import { UserError } from '../../errors.js';
import type { BenchOptions, ScenarioName } from '../types.js';

/**
 * `--procs N`: the users of one bench split across N load processes
 * (worker threads, each with its own event loop and core). Process p of N
 * runs the global users p, p + N, p + 2N, … (closed model: the same users,
 * eras, seeds and stage windows one process would have run); in the open
 * model each runs 1/N of the arrival rate with 1/N of the pool.
 */
export const MAX_PROCS = 64;

/** Scenarios whose verdict needs every request in one process. */
const SINGLE_PROCESS: Partial<Record<ScenarioName, string>> = {
  failover: 'kills one worker and follows its sessions',
  ratelimit: 'counts one limit exactly across every request',
  raw: 'drives autocannon, which has its own workers',
};

/** `4`, or `auto` = cores - 1 (at least 1). */
export function resolveProcs(text: string | undefined, cores = os.availableParallelism()): number {
  if (text === undefined) return 1;
  if (text.trim() === 'auto') return Math.max(1, cores - 1);
  if (!/^\d+$/.test(text.trim()))
    throw new UserError(`invalid --procs '${text}': a number of processes, or auto`);
  const procs = Number(text);
  if (procs < 1 || procs > MAX_PROCS)
    throw new UserError(`invalid --procs '${text}': use 1 to ${MAX_PROCS}, or auto`);
  return procs;
}

/** Refuses what cannot run split, one line each. */
export function checkProcs(procs: number, scenario: ScenarioName, findCapacity: boolean): void {
  if (procs <= 1) return;
  const why = SINGLE_PROCESS[scenario];
  if (why) throw new UserError(`--procs ${procs}: the ${scenario} scenario ${why}; run it with --procs 1`);
  if (findCapacity)
    throw new UserError(`--procs ${procs}: --find-capacity steps one process; run it with --procs 1`);
}

/** The options each of `procs` processes runs. */
export function splitOptions(options: BenchOptions, procs: number): BenchOptions[] {
  return Array.from({ length: procs }, (_, index) => {
    const share = (total: number): number => Math.floor(total / procs) + (index < total % procs ? 1 : 0);
    const model = options.model;
    const part: BenchOptions = {
      ...options,
      procs: 1,
      userSlice: { index, count: procs },
      ...(options.iterations !== undefined ? { iterations: share(options.iterations) } : {}),
      model:
        model.kind === 'closed'
          ? model
          : {
              ...model,
              stages: model.stages.map((stage) => ({
                ...stage,
                fromPerSecond: stage.fromPerSecond / procs,
                toPerSecond: stage.toPerSecond / procs,
              })),
              maxClients: Math.max(1, Math.ceil(model.maxClients / procs)),
              preAllocate: Math.ceil(model.preAllocate / procs),
            },
    };
    return part;
  });
}
