import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { reportJsonSchema } from './report-schema.js';

/**
 * Regenerates schemas/bench-report.schema.json from report-schema.ts:
 *   npm run build && node dist/bench/write-report-schema.js && npx prettier --write schemas
 * test/unit/bench-report-schema.test.ts fails while the two differ.
 */
export const SCHEMA_FILE = fileURLToPath(new URL('../../schemas/bench-report.schema.json', import.meta.url));

export function reportSchemaText(): string {
  return `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;
}

export function writeReportSchema(file = SCHEMA_FILE): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, reportSchemaText());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeReportSchema(process.argv[2]);
  process.stdout.write(`wrote ${process.argv[2] ?? SCHEMA_FILE}\n`);
}
