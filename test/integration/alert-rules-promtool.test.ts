import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import { alertRulesFile } from '../../src/gen/monitoring/alert-rules.js';
import { monitoringOptions } from '../../src/gen/monitoring/monitoring-options.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mcp-scale-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Series as the workers export them: sessions and the bound, per worker, held for 10 minutes. */
function series(worker: string, sessions: number, max: number | undefined) {
  const labels = `job="mcp-scale-workers", instance="${worker}:3000", worker="${worker}"`;
  const out = [{ series: `mcp_scale_worker_sessions{${labels}}`, values: `${sessions}x10` }];
  if (max !== undefined)
    out.push({ series: `mcp_scale_worker_sessions_max{${labels}}`, values: `${max}x10` });
  return out;
}

/**
 * The generated rule evaluated by the real promtool: a worker near its own
 * --max-sessions-per-worker fires, one far below it does not, and a worker
 * without a bound falls back to --alert-sessions-cap.
 */
describe('McpScaleSessionsNearCap under promtool test rules', () => {
  it('uses each worker’s own bound, and --alert-sessions-cap for workers without one', () => {
    const config = resolveClusterConfig({
      command: 'gen',
      configObject: { alertSessionsCap: 2000 },
      env: {},
    });
    writeFileSync(path.join(dir, 'rules.yml'), alertRulesFile(monitoringOptions(config), []));
    const firing = (worker: string, sessions: number) => ({
      exp_labels: {
        severity: 'ticket',
        job: 'mcp-scale-workers',
        instance: `${worker}:3000`,
        worker,
      },
      sessions,
    });
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            ...series('near', 460, 500), // 92 % of its bound
            ...series('far', 460, 5000), // 9 %
            ...series('unbounded-busy', 1900, 0), // no bound: 95 % of --alert-sessions-cap
            ...series('unbounded-quiet', 1000, undefined),
          ],
          alert_rule_test: [
            { eval_time: '6m', alertname: 'McpScaleSessionsNearCap', exp_alerts: [] as unknown[] },
          ],
        },
      ],
    };
    const expected = [firing('near', 460), firing('unbounded-busy', 1900)];
    // promtool compares annotations exactly: take them from the rule itself.
    const rule = (
      YAML.parse(alertRulesFile(monitoringOptions(config), [])) as {
        groups: { rules: { alert: string; annotations: Record<string, string> }[] }[];
      }
    ).groups[0]!.rules.find((r) => r.alert === 'McpScaleSessionsNearCap')!;
    test.tests[0]!.alert_rule_test[0]!.exp_alerts = expected.map(({ exp_labels, sessions }) => ({
      exp_labels,
      exp_annotations: {
        ...rule.annotations,
        summary: `worker ${exp_labels.worker} holds ${sessions} sessions`,
        description: rule.annotations.description!.replace('{{ $labels.worker }}', exp_labels.worker),
      },
    }));
    writeFileSync(path.join(dir, 'test.yml'), YAML.stringify(test));
    let output: string;
    try {
      output = execFileSync('promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      throw new Error(`promtool test rules failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
    }
    expect(output).toContain('SUCCESS');
  });
});
