import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import { alertRules } from '../../src/gen/monitoring/alert-rules.js';
import { grafanaQueries } from '../../src/gen/monitoring/check-prometheus.js';
import { grafanaDashboard } from '../../src/gen/monitoring/grafana-dashboard.js';
import { monitoringOptions } from '../../src/gen/monitoring/monitoring-options.js';
import { prometheusConfig } from '../../src/gen/monitoring/prometheus-config.js';

const configOf = (settings: Record<string, unknown>) =>
  resolveClusterConfig({ command: 'gen', configObject: settings, env: {} });
const optionsFrom = (settings: Record<string, unknown>) => monitoringOptions(configOf(settings));

describe('gen prometheus', () => {
  it('scrapes the compose services by default, or the targets given', () => {
    const config = YAML.parse(prometheusConfig(optionsFrom({ instances: 2 }), []));
    expect(config.rule_files).toEqual(['mcp-scale-alerts.yml']);
    expect(config.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual([
      'mcp-scale-gateways',
      'mcp-scale-workers',
    ]);
    expect(config.scrape_configs[1].static_configs[0].targets).toEqual(['worker-1:3000', 'worker-2:3000']);
    const given = YAML.parse(
      prometheusConfig(
        optionsFrom({ workerTarget: ['10.0.0.5:3000'], scrapeInterval: '5s', metricsTokenFile: '/t' }),
        [],
      ),
    );
    expect(given.global.scrape_interval).toBe('5s');
    expect(given.scrape_configs[1].static_configs[0].targets).toEqual(['10.0.0.5:3000']);
    expect(given.scrape_configs[0].authorization).toEqual({ type: 'Bearer', credentials_file: '/t' });
  });

  it('discovers Kubernetes pods by the labels gen k8s writes', () => {
    const config = YAML.parse(prometheusConfig(optionsFrom({ discovery: 'kubernetes' }), []));
    const workers = config.scrape_configs[1];
    expect(workers.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    expect(workers.relabel_configs[0]).toMatchObject({ regex: 'mcp-scale;worker;http', action: 'keep' });
  });

  it('writes every alert with a runbook, and the thresholds given', () => {
    const rules = alertRules(
      optionsFrom({
        alertFor: '30s',
        alertRateLimitedRatio: 0.1,
        alertLatency: '500ms',
        alertSessionsCap: 1000,
      }),
    );
    expect(rules.map((r) => r.alert)).toEqual([
      'McpScaleWorkerDown',
      'McpScaleWorkerUnhealthyAtGateway',
      'McpScaleGatewayDown',
      'McpScaleWorkerRestarted',
      'McpScaleRehomeStorm',
      'McpScaleRateLimitedRatioHigh',
      'McpScaleP99AboveTarget',
      'McpScaleRedisDegraded',
      'McpScaleSessionsNearCap',
      'McpScaleCacheHitRatioCollapsed',
    ]);
    for (const rule of rules)
      expect(rule.annotations.runbook.split('\n').length, rule.alert).toBeGreaterThanOrEqual(2);
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
    expect(byName.McpScaleWorkerDown!.for).toBe('30s');
    expect(byName.McpScaleRateLimitedRatioHigh!.expr).toContain('> 0.1 and');
    expect(byName.McpScaleP99AboveTarget!.expr).toContain('mcp_server_operation_duration_seconds_bucket');
    expect(byName.McpScaleP99AboveTarget!.expr).toMatch(/> 0\.5$/);
    expect(byName.McpScaleSessionsNearCap!.expr).toContain('mcp_scale_worker_sessions > 900 unless');
  });

  it('refuses bad thresholds and targets in one line', () => {
    expect(() => optionsFrom({ alertRateLimitedRatio: 2 })).toThrow(
      'alertRateLimitedRatio: expected a ratio above 0 and below 1',
    );
    expect(() => optionsFrom({ alertFor: '1500ms' })).toThrow('--alert-for must be whole seconds');
    expect(() => optionsFrom({ gatewayTarget: ['no-port'] })).toThrow("invalid scrape target 'no-port'");
  });
});

describe('gen grafana', () => {
  it('writes a dashboard whose every panel has queries on a Prometheus data source variable', () => {
    const json = grafanaDashboard();
    const dashboard = JSON.parse(json);
    expect(dashboard.templating.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    });
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource.uid).toBe('${datasource}');
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
    expect(grafanaQueries(json).length).toBe(
      dashboard.panels.reduce((n: number, p: { targets: unknown[] }) => n + p.targets.length, 0),
    );
  });
});

describe('gen compose/k8s and tracing', () => {
  it('passes --otlp-endpoint to both roles when it is configured', async () => {
    const { genOptionsFromConfig } = await import('../../src/gen/options.js');
    const { gatewayCommand, workerCommand } = await import('../../src/gen/role-args.js');
    const options = genOptionsFromConfig(configOf({ otlpEndpoint: 'http://otel:4318' }), {
      contextDir: '/tmp',
    });
    expect(gatewayCommand(options, 'redis://redis:6379').args).toEqual(
      expect.arrayContaining(['--otlp-endpoint', 'http://otel:4318']),
    );
    const worker = workerCommand(options, {
      id: 'w1',
      advertiseUrl: 'http://worker-1:3000/mcp',
      redisUrl: 'redis://redis:6379',
    });
    expect(worker.args).toEqual(expect.arrayContaining(['--otlp-endpoint', 'http://otel:4318']));
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => configOf({ otlpEndpoint: 'ftp://otel' })).toThrow(
      'expected an http:// or https:// OTLP/HTTP base URL',
    );
  });
});
