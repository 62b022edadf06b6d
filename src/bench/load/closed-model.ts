import type { VirtualUser } from '../clients/virtual-user.js';
import type { RunControl } from '../run-control.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { VuFactory } from './vu-factory.js';

/**
 * Closed model: N users, each sending its next request when the previous
 * one has returned and its think time has passed. A request's intended
 * time is the end of the think time, so a late timer counts as latency.
 */
export interface ClosedModelInput {
  control: RunControl;
  factory: VuFactory;
  scenario: Scenario;
  clients: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  gracefulStopMs: number;
}

export async function runClosedModel(input: ClosedModelInput): Promise<void> {
  const { control, factory } = input;
  const users = Array.from({ length: input.clients }, () => factory.create());
  const loops = Promise.all(users.map((vu) => userLoop(input, vu)));
  await Promise.race([loops, control.untilStopping()]);
  await control.drain(loops, input.gracefulStopMs);
}

async function userLoop(input: ClosedModelInput, vu: VirtualUser): Promise<void> {
  const { control, factory, scenario } = input;
  const view = factory.view(vu);
  let readyAt = control.clock();
  while (control.tryStartIteration()) {
    const think = input.thinkMinMs + view.random() * (input.thinkMaxMs - input.thinkMinMs);
    const intendedAt = Math.max(readyAt + think, vu.notBefore);
    await control.sleepUntil(intendedAt);
    // Woken well before its time means the deadline or a stop came first (timers may round by under 1 ms).
    if (control.clock() < intendedAt - 1) return;
    await vu.execute(scenario.nextStep(factory.view(vu)), intendedAt);
    readyAt = control.clock();
  }
}
