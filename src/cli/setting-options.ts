import { Option, type Command } from 'commander';
import { defaultFor, isSecretValue, SETTINGS, settingsFor } from '../config/settings/registry.js';
import type { CommandName, Setting, SettingInputs } from '../config/settings/types.js';
import { collectStrings } from './options.js';

/**
 * A command's setting flags, derived from the registry: every setting a role
 * the command runs reads. Values stay raw strings here; resolveSettings
 * parses them with the same codec as the config file and the environment
 * (so `--session-ttl 90` and `sessionTtl: 90` agree) and names the flag in
 * any error. No commander defaults: a config file is never overridden by a
 * flag nobody typed.
 */
export function addSettingOptions(command: Command, name: CommandName): Command {
  command.option(
    '--config <file>',
    'read settings from a JSON or YAML file (keys: the settings, camelCased)',
  );
  for (const s of settingsFor(name)) command.addOption(optionFor(s, name));
  return command;
}

/** Every setting's flag (`config print`, which resolves as any command). */
export function addAllSettingOptions(command: Command): Command {
  command.option('--config <file>', 'read settings from a JSON or YAML file');
  for (const s of SETTINGS) command.addOption(optionFor(s, 'serve'));
  return command;
}

function optionFor(s: Setting, command: CommandName): Option {
  const placeholder = s.codec.placeholder;
  const option = new Option(
    placeholder === undefined ? `--${s.flag}` : `--${s.flag} <${placeholder}>`,
    `${s.help}${defaultNote(s, command)}${secretNote(s)}`,
  );
  if (s.codec.choices) option.choices(s.codec.choices);
  else if (s.codec.repeatable) option.argParser(collectStrings);
  return option;
}

function defaultNote(s: Setting, command: CommandName): string {
  const value = defaultFor(s, command);
  if (value === undefined || isSecretValue(s, value)) return '';
  const shown = s.codec.show(value);
  if (shown === '-' || shown === 'false') return '';
  return ` (default ${shown})`;
}

/**
 * The setting values commander parsed, by setting name (options that are not
 * settings are left out). Without a command: every setting given.
 */
export function settingInputs(options: object, name?: CommandName): SettingInputs {
  const values = options as Partial<Record<string, string | boolean | string[]>>;
  const inputs: Record<string, string | boolean | string[]> = {};
  for (const s of name ? settingsFor(name) : SETTINGS) {
    const value = values[s.name];
    if (value !== undefined) inputs[s.name] = value;
  }
  return inputs;
}

/** The `--config` file a command was given. */
export function configFileOption(options: object): string | undefined {
  const value = (options as { config?: unknown }).config;
  return typeof value === 'string' ? value : undefined;
}

function secretNote(s: Setting): string {
  if (s.secret === true) return ` (env ${s.env}; never put in argv)`;
  if (s.secret) return ` (env ${s.env}; a URL with a password is never put in argv)`;
  return '';
}
