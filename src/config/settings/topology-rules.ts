import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../../errors.js';
import type { ClusterConfig } from '../cluster-config.js';
import { defaultFor, SETTINGS } from './registry.js';
import type { CommandName, Role, Setting } from './types.js';

/**
 * Nothing is dropped silently: a setting the chosen topology cannot honour
 * is refused at start, in one line naming the setting and the topology. The
 * rules follow from the registry's roles, so a new setting is covered the
 * day it is declared.
 */
export interface Topology {
  /** As the user typed it, for the message: "serve --lb nginx --affinity session". */
  label: string;
  /** Whose defaults tell what the user set. */
  command: CommandName;
  /** A balancer reaches the workers directly: no gateway sees the requests. */
  direct: boolean;
  /** Workers are the user's own command (--server-cmd), not mcp-scale's worker host. */
  commandWorkers: boolean;
  /** Several workers each counting limits in their own memory (no Redis). */
  unsharedCounts?: boolean;
}

const has = (s: Setting, ...roles: Role[]) => roles.some((role) => s.roles.includes(role));

/** Gateway-only: no worker, balancer or supervisor can stand in for the gateway. */
const gatewayOnly = (s: Setting) =>
  has(s, 'gateway') && !has(s, 'worker', 'direct', 'supervisor', 'lb', 'gen');
/** Only mcp-scale's worker host reads it (tool cache, demo latency, stateless serving). */
const workerHostOnly = (s: Setting) => has(s, 'worker', 'direct') && !has(s, 'gateway', 'supervisor');
/** What a worker enforces when it is the edge (auth, rate limits). */
const edgeOnly = (s: Setting) => has(s, 'direct');
const isLimit = (s: Setting) => s.name === 'rateLimit' || s.name === 'ipRateLimit' || s.name === 'toolLimit';

/** The first setting `topology` cannot honour, as a one-line UserError (exit 2). */
export function refuseUnhonoured(config: ClusterConfig, topology: Topology): void {
  const reason = unhonoured(config, topology);
  if (reason) throw new UserError(reason);
}

export function unhonoured(config: ClusterConfig, topology: Topology): string | undefined {
  for (const s of SETTINGS) {
    const value = s.get(config);
    if (value === undefined || isDeepStrictEqual(value, defaultFor(s, topology.command))) continue;
    const flag = `--${s.flag}`;
    if (topology.direct && gatewayOnly(s)) {
      return `${flag} is a gateway setting, and in ${topology.label} the balancer reaches the workers directly: drop it or use --affinity gateway`;
    }
    if (topology.commandWorkers && workerHostOnly(s) && !edgeOnly(s)) {
      return `${flag} needs mcp-scale's worker host, and ${topology.label} runs your --server-cmd as the workers: drop it or use --server MODULE`;
    }
    if (topology.commandWorkers && topology.direct && edgeOnly(s)) {
      return `${flag}: in ${topology.label} the balancer sends requests straight to your --server-cmd workers and nothing would enforce it: use --affinity gateway`;
    }
    if (topology.direct && topology.unsharedCounts && isLimit(s)) {
      return `${flag}: in ${topology.label} each worker enforces limits, and without Redis each would count alone: give --redis or use --affinity gateway`;
    }
  }
  return undefined;
}
