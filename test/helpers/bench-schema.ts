import fs from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { SCHEMA_FILE } from '../../src/bench/write-report-schema.js';

/**
 * Validates a bench report against the shipped JSON Schema file (not the
 * zod source it is generated from), as a consumer of the report would.
 * Returns the validation errors, empty when the report is valid.
 */
const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

export function reportSchemaErrors(report: unknown): string[] {
  if (validate(report)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'invalid'}`);
}
