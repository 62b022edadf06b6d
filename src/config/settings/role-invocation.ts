import { isDeepStrictEqual } from 'node:util';
import type { ClusterConfig } from '../cluster-config.js';
import { defaultFor, isSecretValue, roleReads, SETTINGS } from './registry.js';
import type { Setting } from './types.js';

/** How a child role (`mcp-scale gateway|worker`) is told its settings. */
export interface RoleInvocation {
  /** Flags for the settings whose value differs from that command's default. */
  args: string[];
  /** Secret settings (cluster secret, admin token, JWT secret, a Redis URL with a password). */
  env: Record<string, string>;
  /** The settings carried, by name, for tests and `config print`. */
  carried: string[];
}

export interface RoleInvocationOptions {
  /** A worker no gateway fronts: it also gets the `direct` settings (auth, limits). */
  direct?: boolean;
  /** Settings sent by environment even though they are not secret (k8s reads them from a Secret). */
  viaEnv?: readonly string[];
  /** Settings left out (the caller passes them its own way). */
  omit?: readonly string[];
}

/**
 * The argv and environment that make `mcp-scale <role>` resolve the same
 * settings as `config`, derived from the registry: every setting the role
 * reads, when it differs from the role command's own default; secrets by
 * environment, never argv (argv is visible to every user in ps). Used by
 * serve's supervisor and by gen for compose and Kubernetes.
 */
export function roleInvocation(
  config: ClusterConfig,
  role: 'gateway' | 'worker',
  options: RoleInvocationOptions = {},
): RoleInvocation {
  const args: string[] = [];
  const env: Record<string, string> = {};
  const carried: string[] = [];
  for (const s of SETTINGS) {
    const reads =
      roleReads(role, s) || (role === 'worker' && options.direct === true && roleReads('direct', s));
    if (!reads || options.omit?.includes(s.name)) continue;
    const value = s.get(config);
    if (value === undefined || isDeepStrictEqual(value, defaultFor(s, role))) continue;
    carried.push(s.name);
    if (isSecretValue(s, value) || options.viaEnv?.includes(s.name)) env[s.env] = envValue(s, value);
    else args.push(...flagArgs(s, value));
  }
  return { args, env, carried };
}

/** `--flag value` per formatted value; `--flag=value` when the value could read as a flag. */
export function flagArgs(s: Setting, value: unknown): string[] {
  const flag = `--${s.flag}`;
  if (s.codec.placeholder === undefined) return value ? [flag] : [];
  return s.codec.format(value).flatMap((item) => (item.startsWith('-') ? [`${flag}=${item}`] : [flag, item]));
}

/** The value in the syntax the environment variable is read with (lists comma-separated). */
export function envValue(s: Setting, value: unknown): string {
  if (s.codec.placeholder === undefined) return String(Boolean(value));
  return s.codec.format(value).join(',');
}

/** Every settings variable, so a child's environment carries only what its invocation says. */
export function settingEnvNames(): string[] {
  return SETTINGS.map((s) => s.env);
}

/** `env` without any settings variable (a child must not inherit a value its parent overrode). */
export function withoutSettingEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const names = new Set(settingEnvNames());
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.has(name)));
}
