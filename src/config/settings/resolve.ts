import { UserError } from '../../errors.js';
import { validateClusterConfig, type ClusterConfig } from '../cluster-config.js';
import { readConfigFile } from './config-file.js';
import { commandTakes, defaultClusterConfig, findSetting, SETTINGS } from './registry.js';
import type { CommandName, Setting, SettingInputs, SettingSource } from './types.js';

export interface ResolveRequest {
  /** Whose defaults apply and which flags exist. */
  command: CommandName;
  /** A config file (JSON or YAML). */
  configFile?: string;
  /** Settings in the config file's form (a library caller's object), applied like the file. */
  configObject?: Readonly<Record<string, unknown>>;
  /** The environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Values from the command line, by setting name (raw strings, as commander collects them). */
  flags?: SettingInputs;
}

export interface ResolvedSettings {
  config: ClusterConfig;
  /** Where each setting's effective value came from. */
  sources: Record<string, SettingSource>;
  configFile?: string;
}

/**
 * defaults (per command) < config file < environment < flags, each value
 * parsed by its setting's codec. Any bad key or value is a UserError (exit
 * 2) naming the key, where it came from and the expected form.
 */
export function resolveSettings(request: ResolveRequest): ResolvedSettings {
  const config = defaultClusterConfig(request.command);
  const sources: Record<string, SettingSource> = Object.fromEntries(SETTINGS.map((s) => [s.name, 'default']));
  const apply = (s: Setting, raw: unknown, source: SettingSource, where: string) => {
    const value = parseValue(s, raw, where);
    const current = s.get(config);
    s.set(config, s.codec.merge && current !== undefined ? s.codec.merge(current, value) : value);
    sources[s.name] = source;
  };
  const applyObject = (values: Readonly<Record<string, unknown>>, where: string) => {
    for (const [key, raw] of Object.entries(values)) {
      const s = findSetting(key);
      if (!s)
        throw new UserError(`${where}: unknown key '${key}' (the settings are listed in docs/settings.md)`);
      if (raw === null || raw === undefined) continue;
      apply(s, raw, 'file', `${where}: ${key}`);
    }
  };
  if (request.configFile !== undefined) {
    applyObject(readConfigFile(request.configFile), `config file ${request.configFile}`);
  }
  if (request.configObject) applyObject(request.configObject, 'settings');
  const env = request.env ?? process.env;
  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw !== undefined && raw !== '') apply(s, raw, 'env', s.env);
  }
  for (const [name, raw] of Object.entries(request.flags ?? {})) {
    if (raw === undefined) continue;
    const s = findSetting(name);
    if (!s || !commandTakes(request.command, s))
      throw new UserError(`--${name}: not a setting of ${request.command}`);
    apply(s, raw, 'flag', `--${s.flag}`);
  }
  validateClusterConfig(config);
  return { config, sources, ...(request.configFile === undefined ? {} : { configFile: request.configFile }) };
}

export function resolveClusterConfig(request: ResolveRequest): ClusterConfig {
  return resolveSettings(request).config;
}

function parseValue(s: Setting, raw: unknown, where: string): unknown {
  try {
    return s.codec.parse(raw);
  } catch (error) {
    const message = (error as Error).message;
    const says = /expected|use /.test(message) ? message : `${message} (expected ${s.codec.form})`;
    throw new UserError(`${where}: ${says}`);
  }
}

/** A value as the user would write it: secrets redacted (config print, logs). */
export function showValue(s: Setting, value: unknown): string {
  if (value === undefined) return '-';
  if (s.secret === true) return '<redacted>';
  if (typeof s.secret === 'function' && s.secret(value)) return s.redact ? s.redact(value) : '<redacted>';
  return s.codec.show(value);
}
