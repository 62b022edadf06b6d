/** The settings registry: one declaration per setting, everything else derived. */
export {
  SETTINGS,
  findSetting,
  getSetting,
  settingsFor,
  commandTakes,
  defaultFor,
  defaultClusterConfig,
  isSecretValue,
} from './registry.js';
export {
  resolveSettings,
  resolveClusterConfig,
  showValue,
  type ResolveRequest,
  type ResolvedSettings,
} from './resolve.js';
export { readConfigFile } from './config-file.js';
export {
  roleInvocation,
  flagArgs,
  envValue,
  withoutSettingEnv,
  type RoleInvocation,
} from './role-invocation.js';
export type { CommandName, Role, Setting, SettingInputs, SettingSource, Codec } from './types.js';
