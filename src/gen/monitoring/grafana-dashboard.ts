import { GATEWAY_JOB, WORKER_JOB } from './prometheus-config.js';

interface Panel {
  title: string;
  type: 'timeseries' | 'stat';
  unit: string;
  /** Legend format per query ({{label}}). */
  targets: { expr: string; legend: string }[];
  width?: number;
}

const DS = { type: 'prometheus', uid: '${datasource}' };

/**
 * The panels: one question each, every query on a metric mcp-scale exports
 * (a test scrapes a real cluster and checks each name exists).
 */
export function dashboardPanels(): Panel[] {
  const rate = (expr: string) => `rate(${expr}[$__rate_interval])`;
  return [
    {
      title: 'Gateways up',
      type: 'stat',
      unit: 'none',
      targets: [{ expr: `sum(up{job="${GATEWAY_JOB}"})`, legend: 'gateways' }],
      width: 6,
    },
    {
      title: 'Workers up',
      type: 'stat',
      unit: 'none',
      targets: [{ expr: `sum(up{job="${WORKER_JOB}"})`, legend: 'workers' }],
      width: 6,
    },
    {
      title: 'Redis (1 = ready)',
      type: 'stat',
      unit: 'none',
      targets: [{ expr: 'min(mcp_scale_gateway_redis_up)', legend: 'redis' }],
      width: 6,
    },
    {
      title: 'Sessions known to gateways',
      type: 'stat',
      unit: 'none',
      targets: [{ expr: 'sum(mcp_scale_gateway_sessions)', legend: 'sessions' }],
      width: 6,
    },
    {
      title: 'Gateway requests/s by era',
      type: 'timeseries',
      unit: 'reqps',
      targets: [{ expr: `sum by (era) (${rate('mcp_scale_gateway_requests_total')})`, legend: '{{era}}' }],
    },
    {
      title: 'Request duration p50 / p99 by era (mcp.server.operation.duration)',
      type: 'timeseries',
      unit: 's',
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le, era) (${rate('mcp_server_operation_duration_seconds_bucket')}))`,
        legend: `p${q * 100} {{era}}`,
      })),
    },
    {
      title: 'Errors (5xx) by era',
      type: 'timeseries',
      unit: 'reqps',
      targets: [
        {
          expr: `sum by (era) (${rate('mcp_scale_gateway_requests_total{status=~"5.."}')})`,
          legend: '{{era}}',
        },
      ],
    },
    {
      title: '429s by policy',
      type: 'timeseries',
      unit: 'reqps',
      targets: [
        { expr: `sum by (policy) (${rate('mcp_scale_gateway_rate_limited_total')})`, legend: '{{policy}}' },
      ],
    },
    {
      title: 'Session re-homes by reason',
      type: 'timeseries',
      unit: 'ops',
      targets: [
        {
          expr: `sum by (reason) (${rate('mcp_scale_gateway_session_rehomes_total')})`,
          legend: '{{reason}}',
        },
      ],
    },
    {
      title: 'Worker restarts (15m)',
      type: 'timeseries',
      unit: 'none',
      targets: [
        {
          expr: 'max by (worker) (increase(mcp_scale_gateway_worker_restarts_total[15m]))',
          legend: '{{worker}}',
        },
      ],
    },
    {
      title: 'Worker requests/s',
      type: 'timeseries',
      unit: 'reqps',
      targets: [
        { expr: `sum by (worker) (${rate('mcp_scale_worker_requests_total')})`, legend: '{{worker}}' },
      ],
    },
    {
      title: 'Worker in-flight requests',
      type: 'timeseries',
      unit: 'none',
      targets: [{ expr: 'sum by (worker) (mcp_scale_worker_inflight_requests)', legend: '{{worker}}' }],
    },
    {
      title: 'Live sessions per worker',
      type: 'timeseries',
      unit: 'none',
      targets: [{ expr: 'sum by (worker) (mcp_scale_worker_sessions)', legend: '{{worker}}' }],
    },
    {
      title: 'Tool cache hit ratio by tool',
      type: 'timeseries',
      unit: 'percentunit',
      targets: [
        {
          expr: `sum by (tool) (${rate('mcp_scale_worker_cache_total{outcome="hit"}')}) / clamp_min(sum by (tool) (${rate('mcp_scale_worker_cache_total')}), 1e-9)`,
          legend: '{{tool}}',
        },
      ],
    },
    {
      title: 'Worker memory (RSS)',
      type: 'timeseries',
      unit: 'bytes',
      targets: [{ expr: `process_resident_memory_bytes{job="${WORKER_JOB}"}`, legend: '{{worker}}' }],
    },
    {
      title: 'Gateway event loop lag p99',
      type: 'timeseries',
      unit: 's',
      targets: [{ expr: `nodejs_eventloop_lag_p99_seconds{job="${GATEWAY_JOB}"}`, legend: '{{instance}}' }],
    },
  ];
}

/** A Grafana dashboard (schema 39) with a Prometheus data source variable, importable as is. */
export function grafanaDashboard(): string {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = dashboardPanels().map((panel, index) => {
    const w = panel.width ?? 12;
    const h = panel.type === 'stat' ? 4 : 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return {
      id: index + 1,
      type: panel.type,
      title: panel.title,
      datasource: DS,
      gridPos,
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options:
        panel.type === 'stat'
          ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value' }
          : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: panel.targets.map((target, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: DS,
        expr: target.expr,
        legendFormat: target.legend,
      })),
    };
  });
  const dashboard = {
    uid: 'mcp-scale',
    title: 'mcp-scale',
    tags: ['mcp', 'mcp-scale'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} },
      ],
    },
    panels,
  };
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
