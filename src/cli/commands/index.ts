import type { Command } from 'commander';
import { registerPlanCommand } from './plan.js';

/**
 * Every command registers itself here; keep one import and one call per
 * command so parallel work on different commands does not collide.
 */
export function registerCommands(program: Command): void {
  void program;
  registerPlanCommand(program);
}
