import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UserError } from '../../errors.js';

/**
 * The config file: JSON or YAML (by extension; YAML otherwise, which also
 * reads JSON), one object whose keys are the settings' camelCase names, with
 * values in the flags' syntax or as numbers, arrays and objects.
 */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const json = path.extname(file).toLowerCase() === '.json';
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    const firstLine = (error as Error).message.split('\n')[0];
    throw new UserError(`config file ${file} is not valid ${json ? 'JSON' : 'YAML'}: ${firstLine}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`config file ${file} must hold one object of settings (key: value)`);
  }
  return value as Record<string, unknown>;
}
