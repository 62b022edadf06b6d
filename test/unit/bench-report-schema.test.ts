import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reportSchemaText, SCHEMA_FILE } from '../../src/bench/write-report-schema.js';
import { reportSchemaErrors } from '../helpers/bench-schema.js';
import { sampleReport } from '../helpers/bench-report.js';

describe('bench report schema', () => {
  it('ships schemas/bench-report.schema.json equal to the schema the code generates', () => {
    // Regenerate with: npm run build && node dist/bench/write-report-schema.js && npx prettier --write schemas
    expect(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(JSON.parse(reportSchemaText()));
  });

  it('accepts a report the report builder produced', () => {
    const report = sampleReport();
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(reportSchemaErrors(JSON.parse(JSON.stringify(report)))).toEqual([]);
  });

  it('rejects reports that break the contract', () => {
    const report = sampleReport();
    expect(reportSchemaErrors({ ...report, schemaVersion: 2 })).not.toEqual([]);
    expect(reportSchemaErrors({ ...report, extra: true })).not.toEqual([]);
    const { totals: _totals, ...withoutTotals } = report;
    expect(reportSchemaErrors(withoutTotals)).not.toEqual([]);
    expect(reportSchemaErrors({ ...report, scenario: { name: 'affinity', checks: [] } })).not.toEqual([]);
  });
});
