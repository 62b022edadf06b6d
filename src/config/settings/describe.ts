import { settingsFor } from './registry.js';
import { resolveSettings, showValue, type ResolveRequest } from './resolve.js';
import type { SettingSource } from './types.js';

/** One line of `config print`. */
export interface SettingReport {
  key: string;
  flag: string;
  env: string;
  /** As the user would write it; secrets `<redacted>`, a Redis URL without its password. */
  value: string;
  source: SettingSource;
  secret: boolean;
}

/** The effective settings of a command with their sources; nothing secret is revealed. */
export function describeSettings(request: ResolveRequest): SettingReport[] {
  const { config, sources } = resolveSettings(request);
  return settingsFor(request.command).map((s) => ({
    key: s.name,
    flag: `--${s.flag}`,
    env: s.env,
    value: showValue(s, s.get(config)),
    source: sources[s.name] ?? 'default',
    secret: Boolean(s.secret),
  }));
}
