import { ArrivalSchedule } from '../load-profile.js';
import type { VirtualUser } from '../clients/virtual-user.js';
import type { RunControl } from '../run-control.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { RateStage } from '../types.js';
import type { VuFactory } from './vu-factory.js';

/**
 * Open model: iterations arrive on a schedule whatever the server does.
 * Each arrival takes a free user from a pool of at most `maxClients`
 * (growing it when needed, as k6's ramping-arrival-rate does); with none
 * free and the pool full the arrival is dropped and counted. Latency runs
 * from the scheduled arrival time, so a slow server cannot hide queueing.
 */
export interface OpenModelInput {
  control: RunControl;
  factory: VuFactory;
  scenario: Scenario;
  stages: RateStage[];
  maxClients: number;
  preAllocate: number;
  gracefulStopMs: number;
}

/** Returns when the arrivals started (ms since start), after pre-allocation. */
export async function runOpenModel(input: OpenModelInput): Promise<number> {
  const { control, factory, scenario } = input;
  const idle: VirtualUser[] = [];
  const first = Array.from({ length: Math.min(input.preAllocate, input.maxClients) }, () => factory.create());
  await Promise.all(first.map((vu) => vu.connect(control.clock())));
  idle.push(...first);

  const schedule = new ArrivalSchedule(input.stages);
  const startAt = control.clock();
  control.deadlineMs = startAt + schedule.totalMs;
  const inflight = new Set<Promise<void>>();

  for (let k = 0; ; k++) {
    const offset = schedule.timeOf(k);
    if (offset === undefined) break;
    const due = startAt + offset;
    if (due > control.clock()) await control.sleepUntil(due);
    if (!control.tryStartIteration(true)) break;
    const vu =
      takeIdle(idle, control.clock()) ?? (factory.count < input.maxClients ? factory.create() : undefined);
    if (!vu) {
      control.dropped += 1;
      continue;
    }
    const run: Promise<void> = vu
      .execute(scenario.nextStep(factory.view(vu)), due)
      .catch(() => undefined)
      .finally(() => {
        inflight.delete(run);
        idle.push(vu);
      });
    inflight.add(run);
  }
  await control.drain(Promise.all([...inflight]), input.gracefulStopMs);
  return startAt;
}

/** The most recently used free user (warm connection) that is not waiting out a Retry-After. */
function takeIdle(idle: VirtualUser[], now: number): VirtualUser | undefined {
  for (let i = idle.length - 1; i >= 0; i--) {
    const vu = idle[i];
    if (vu && vu.notBefore <= now) {
      idle.splice(i, 1);
      return vu;
    }
  }
  return undefined;
}
