import type { VirtualUser } from '../clients/virtual-user.js';
import type { RunControl } from '../run-control.js';
import type { Scenario } from '../scenarios/scenario.js';
import { activeWindows, type ActiveWindow, type UserStage } from './user-stages.js';
import type { VuFactory } from './vu-factory.js';

/**
 * Closed model: users, each sending its next request when the previous one
 * has returned and its think time has passed. A request's intended time is
 * the end of the think time, so a late timer counts as latency. With
 * stages, each user runs only in its active windows (see user-stages.ts).
 *
 * Every user loop ends for a stated reason. A loop that ends while its
 * window is still open and the run is not stopping is a defect the report
 * shows (`stoppedEarly`), never a quiet loss of load.
 */
export interface ClosedModelInput {
  control: RunControl;
  factory: VuFactory;
  scenario: Scenario;
  /** Users this process runs (its slice of the global users with --procs). */
  clients: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  gracefulStopMs: number;
  /** Users over time; absent = every user from the start until the run stops. */
  stages?: UserStage[];
  /** Where the load starts, ms since the bench started. */
  startMs: number;
}

export interface UserRun {
  vu: VirtualUser;
  /** When this user was meant to run, ms since the bench started. */
  windows: ActiveWindow[];
  /** Why the loop ended: `done` (its windows or the run ended) or the error that broke it. */
  ended: 'done' | 'running' | string;
  /** Time spent waiting out Retry-After beyond the think time, ms. */
  retryWaitMs: number;
}

export async function runClosedModel(input: ClosedModelInput): Promise<UserRun[]> {
  const { control, factory } = input;
  const runs: UserRun[] = Array.from({ length: input.clients }, () => {
    const vu = factory.create();
    // Windows follow the global user number: user n + 1 runs while the level is at least n + 1.
    return { vu, windows: windowsFor(input, vu.index + 1), ended: 'running', retryWaitMs: 0 };
  });
  const loops = Promise.all(
    runs.map((run) =>
      userLoop(input, run).then(
        () => (run.ended = 'done'),
        (error: unknown) => (run.ended = error instanceof Error ? error.message : String(error)),
      ),
    ),
  );
  await Promise.race([loops, control.untilStopping()]);
  await control.drain(loops, input.gracefulStopMs);
  return runs;
}

function windowsFor(input: ClosedModelInput, k: number): ActiveWindow[] {
  const shift = (w: ActiveWindow): ActiveWindow => ({
    startMs: input.startMs + w.startMs,
    endMs: input.startMs + w.endMs,
  });
  if (!input.stages) return [{ startMs: input.startMs, endMs: Number.POSITIVE_INFINITY }];
  return activeWindows(input.stages, k).map(shift);
}

async function userLoop(input: ClosedModelInput, run: UserRun): Promise<void> {
  const { control, factory, scenario } = input;
  const vu = run.vu;
  for (const window of run.windows) {
    if ((await control.sleepUntil(window.startMs)) !== 'due') return;
    let readyAt = control.clock();
    for (;;) {
      const random = factory.view(vu).random;
      const think = input.thinkMinMs + random() * (input.thinkMaxMs - input.thinkMinMs);
      const plannedAt = readyAt + think;
      const intendedAt = Math.max(plannedAt, vu.notBefore);
      // The next request would fall after this user's window: it leaves until the next one.
      if (intendedAt >= window.endMs) {
        if ((await control.sleepUntil(window.endMs)) !== 'due') return;
        break;
      }
      if ((await control.sleepUntil(intendedAt)) !== 'due') return;
      if (!control.tryStartIteration()) return;
      run.retryWaitMs += intendedAt - plannedAt;
      await vu.execute(scenario.nextStep(factory.view(vu)), intendedAt);
      readyAt = control.clock();
    }
  }
}
