import type { Command } from 'commander';
import { registerBenchCommand } from './bench.js';
import { registerCacheCommand } from './cache.js';
import { registerConfigCommand } from './config.js';
import { registerGatewayCommand } from './gateway.js';
import { registerGenCommand } from './gen.js';
import { registerLimitsCommand } from './limits.js';
import { registerPlanCommand } from './plan.js';
import { registerServeCommand } from './serve.js';
import { registerSessionsCommand } from './sessions.js';
import { registerWorkerCommand } from './worker.js';

/**
 * Every command registers itself here; keep one import and one call per
 * command so parallel work on different commands does not collide.
 */
export function registerCommands(program: Command): void {
  registerServeCommand(program);
  registerGatewayCommand(program);
  registerWorkerCommand(program);
  registerSessionsCommand(program);
  registerCacheCommand(program);
  registerLimitsCommand(program);
  registerPlanCommand(program);
  registerBenchCommand(program);
  registerGenCommand(program);
  registerConfigCommand(program);
}
