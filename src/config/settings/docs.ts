import { SETTING_GROUPS, settingsFor } from './registry.js';
import { showValue } from './resolve.js';
import type { CommandName, Setting } from './types.js';

const COMMANDS: CommandName[] = ['serve', 'gateway', 'worker', 'gen'];

/**
 * docs/settings.md, generated from the registry (`npm run docs:settings`);
 * test/unit/settings-docs.test.ts fails when the file is stale.
 */
export function renderSettingsMarkdown(): string {
  const lines = [
    '# Settings',
    '',
    '<!-- Generated from src/config/settings/ by `npm run docs:settings`. Do not edit by hand. -->',
    '',
    'Every setting has one name, used as the config-file key (JSON or YAML, `--config FILE`), a flag and',
    'an environment variable. Precedence: defaults < config file < environment < flags. A bad key or',
    'value in any source is one line naming it, where it came from and the expected form (exit 2).',
    '`mcp-scale config print` shows the effective value of each setting and its source.',
    '',
    'Roles say who reads a setting: `serve` takes every setting of the roles it runs and hands each',
    'child gateway and worker the ones it reads; `gen` writes them into the compose and Kubernetes',
    'command lines. Secrets travel by environment (`.env`, a Kubernetes Secret), never by argv.',
    '',
  ];
  for (const group of SETTING_GROUPS) {
    lines.push(`## ${group.title}`, '');
    lines.push('| key | flag | environment | value | default | read by | commands |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of group.settings) lines.push(row(s));
    lines.push('');
    for (const s of group.settings) lines.push(`- \`${s.name}\`: ${escape(s.help)}${secretText(s)}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function row(s: Setting): string {
  const flag = s.codec.placeholder === undefined ? `--${s.flag}` : `--${s.flag} <${s.codec.placeholder}>`;
  const commands = COMMANDS.filter((command) => settingsFor(command).includes(s));
  return `| \`${s.name}\` | \`${flag}\` | \`${s.env}\` | ${escape(s.codec.form)} | ${escape(defaultsText(s))} | ${s.roles.join(', ')} | ${commands.join(', ')} |`;
}

function defaultsText(s: Setting): string {
  const base = s.default === undefined ? '-' : showValue(s, s.default);
  const differing = Object.entries(s.defaults ?? {}).map(
    ([command, value]) => `${command}: ${value === undefined ? '-' : showValue(s, value)}`,
  );
  return differing.length ? `${base} (${differing.join('; ')})` : base;
}

function secretText(s: Setting): string {
  if (s.secret === true)
    return ' Secret: environment, .env or a Kubernetes Secret only; redacted when printed.';
  if (s.secret) return ' Secret when it carries a password: then environment only, redacted when printed.';
  return '';
}

function escape(text: string): string {
  return text.replaceAll('|', '\\|');
}
