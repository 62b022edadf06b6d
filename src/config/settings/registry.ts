import type { ClusterConfig } from '../cluster-config.js';
import { AUTH_SETTINGS } from './auth.js';
import { CACHE_SETTINGS } from './cache.js';
import { GEN_SETTINGS } from './gen.js';
import { LIMIT_SETTINGS } from './limits.js';
import { NETWORK_SETTINGS } from './network.js';
import { MONITORING_SETTINGS, OBSERVABILITY_SETTINGS } from './observability.js';
import { SESSION_BOUND_SETTINGS } from './sessions.js';
import { TOPOLOGY_SETTINGS } from './topology.js';
import type { CommandName, Role, Setting } from './types.js';

/**
 * Every cluster setting, declared once (see docs/settings.md, generated from
 * this list). Commands' options, the config-file schema, environment
 * variables, the supervisor's child argv/env and gen's role arguments are
 * all derived from it.
 */
export const SETTING_GROUPS: readonly { title: string; settings: readonly Setting[] }[] = [
  { title: 'Network and secrets', settings: NETWORK_SETTINGS },
  { title: 'Topology, Redis and server', settings: TOPOLOGY_SETTINGS },
  { title: 'Session memory bounds', settings: SESSION_BOUND_SETTINGS },
  { title: 'Authentication', settings: AUTH_SETTINGS },
  { title: 'Rate limits', settings: LIMIT_SETTINGS },
  { title: 'Tool-result cache', settings: CACHE_SETTINGS },
  { title: 'Traces and supervision', settings: OBSERVABILITY_SETTINGS },
  { title: 'gen only (proxy, image, Kubernetes)', settings: GEN_SETTINGS },
  { title: 'gen only (Prometheus and Grafana)', settings: MONITORING_SETTINGS },
];

export const SETTINGS: readonly Setting[] = SETTING_GROUPS.flatMap((group) => group.settings);

const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

export function findSetting(name: string): Setting | undefined {
  return BY_NAME.get(name);
}

export function getSetting(name: string): Setting {
  const found = BY_NAME.get(name);
  if (!found) throw new Error(`no setting named ${name}`);
  return found;
}

/** The roles each command runs: a command takes every setting one of them reads. */
const COMMAND_ROLES: Record<CommandName, readonly Role[]> = {
  serve: ['gateway', 'worker', 'direct', 'supervisor', 'lb'],
  gateway: ['gateway'],
  worker: ['worker', 'direct'],
  // gen writes every role's settings into the files it renders (not the supervisor's own).
  gen: ['gateway', 'worker', 'direct', 'lb', 'gen'],
};

export function commandTakes(command: CommandName, s: Setting): boolean {
  return s.roles.some((role) => COMMAND_ROLES[command].includes(role));
}

export function settingsFor(command: CommandName): Setting[] {
  return SETTINGS.filter((s) => commandTakes(command, s));
}

export function roleReads(role: Role, s: Setting): boolean {
  return s.roles.includes(role);
}

/** The default of a setting for one command. */
export function defaultFor(s: Setting, command: CommandName): unknown {
  if (s.defaults && command in s.defaults) return s.defaults[command];
  return s.default;
}

/** Every setting at its default for `command` (serve: 127.0.0.1, one gateway; gen: 0.0.0.0, two). */
export function defaultClusterConfig(command: CommandName = 'serve'): ClusterConfig {
  const config = { auth: {}, limits: {}, cache: {} } as ClusterConfig;
  for (const s of SETTINGS) {
    const value = defaultFor(s, command);
    if (value !== undefined) s.set(config, structuredClone(value));
  }
  return config;
}

/** Whether this value of the setting must travel by environment / Secret (never argv). */
export function isSecretValue(s: Setting, value: unknown): boolean {
  return typeof s.secret === 'function' ? s.secret(value) : s.secret === true;
}
