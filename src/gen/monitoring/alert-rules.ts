import YAML from 'yaml';
import type { MonitoringOptions } from './monitoring-options.js';
import { GATEWAY_JOB, WORKER_JOB } from './prometheus-config.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: 'page' | 'ticket' };
  annotations: { summary: string; description: string; runbook: string };
}

/**
 * The alert rules, each with the runbook an on-call engineer reads at 3 am:
 * what it means for users, what to look at first, what usually fixes it.
 * Every metric named here is one the cluster exports, created at 0 where a
 * label set is used, so a ratio is 0 rather than missing before the first event.
 */
export function alertRules(options: MonitoringOptions): AlertRule[] {
  const down = `${options.alertForS}s`;
  const ratio = options.alert429Ratio;
  return [
    {
      alert: 'McpScaleWorkerDown',
      expr: `up{job="${WORKER_JOB}"} == 0`,
      for: down,
      labels: { severity: 'page' },
      annotations: {
        summary: 'mcp-scale worker {{ $labels.instance }} is down',
        description: `Prometheus has not been able to scrape worker {{ $labels.instance }} for ${down}.`,
        runbook: [
          'Users: 2025-era sessions on this worker are re-homed by the gateway (replayed on a healthy worker); 2026-era requests go elsewhere. Capacity is reduced.',
          '1. Is the process running? `mcp-scale serve`: the supervisor restarts it unless --max-restarts was reached (its log says so). Kubernetes: `kubectl describe pod` (OOMKilled, CrashLoopBackOff).',
          '2. Its last log lines usually name the cause (the server module threw at start, port in use, Redis unreachable at boot).',
          '3. The dashboard at /_mcp-scale/ on a gateway shows the worker events (down, up, restarted).',
          '4. If the pod is up but not scrapable: /metrics answers loopback or the admin token only; check the scrape authorization.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleWorkerUnhealthyAtGateway',
      expr: 'mcp_scale_gateway_worker_up == 0',
      for: down,
      labels: { severity: 'page' },
      annotations: {
        summary: 'gateway {{ $labels.instance }} has taken worker {{ $labels.worker }} out of rotation',
        description: `Worker {{ $labels.worker }} has failed the gateway's health checks for ${down}.`,
        runbook: [
          'Users: the gateway routes around the worker; its sessions are re-homed on their next request.',
          '1. `curl http://<worker>/healthz` from the gateway host: a timeout means a stalled process (event loop blocked), a refusal means it is gone.',
          '2. A stalled worker is restarted by `serve` after 3 missed checks; on Kubernetes the liveness probe does it.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleGatewayDown',
      expr: `up{job="${GATEWAY_JOB}"} == 0`,
      for: down,
      labels: { severity: 'page' },
      annotations: {
        summary: 'mcp-scale gateway {{ $labels.instance }} is down',
        description: `Prometheus has not been able to scrape gateway {{ $labels.instance }} for ${down}.`,
        runbook: [
          'Users: clients routed to this gateway fail until the load balancer takes it out; sessions live in Redis and continue on any other gateway.',
          '1. Is the process running? Kubernetes: `kubectl describe pod`, `kubectl logs --previous`.',
          '2. Is it listening? `curl http://<gateway>/healthz` and `/readyz` (readyz is 503 while no worker is healthy or Redis was never reached).',
          '3. With one gateway this is an outage: scale gateways to at least 2.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleWorkerRestarted',
      expr: 'increase(mcp_scale_gateway_worker_restarts_total[15m]) > 0',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'worker {{ $labels.worker }} restarted in the last 15 minutes',
        description:
          'The gateway saw worker {{ $labels.worker }} come back with a new pid ({{ $value }} times in 15m).',
        runbook: [
          'Users: in-flight requests on the worker were answered with an error unless safe to retry; sessions were re-homed.',
          '1. Find why it died: its log before the restart (uncaught exception, OOM kill: `dmesg`, `kubectl describe pod`).',
          '2. Repeated restarts: look at memory (process_resident_memory_bytes of the worker job) and at the server module.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleRehomeStorm',
      expr: `sum(rate(mcp_scale_gateway_session_rehomes_total[5m])) > ${options.alertRehomeRate}`,
      for: '5m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'sessions are being re-homed at {{ $value | humanize }}/s',
        description: `More than ${options.alertRehomeRate} session re-homes per second for 5 minutes, cluster-wide.`,
        runbook: [
          'Users: every re-homed request pays a replay (initialize + recorded calls) in latency; a storm means workers keep losing sessions.',
          '1. Which reason? `sum by (reason) (rate(mcp_scale_gateway_session_rehomes_total[5m]))`: worker-down/worker-died = workers dying; upstream-404 = workers forgetting sessions (restarts, eviction under a session cap, idle expiry shorter than the gateway TTL).',
          '2. Look at McpScaleWorkerRestarted and worker memory; flapping health checks (slow event loop) also cause it.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleRateLimitedRatioHigh',
      expr:
        `sum(rate(mcp_scale_gateway_rate_limited_total[5m])) / clamp_min(sum(rate(mcp_scale_gateway_requests_total[5m])), 1e-9) > ${ratio}` +
        ' and sum(rate(mcp_scale_gateway_requests_total[5m])) > 0',
      for: '10m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: '{{ $value | humanizePercentage }} of requests get 429',
        description: `More than ${ratio * 100}% of MCP requests were refused by rate limits for 10 minutes.`,
        runbook: [
          'Users: clients get HTTP 429 with Retry-After and RateLimit headers.',
          '1. Which policy? `sum by (policy) (rate(mcp_scale_gateway_rate_limited_total[5m]))`, or the dashboard (429s by policy).',
          '2. One user or many? `mcp-scale limits show` lists the keys near or over their budget.',
          '3. Legitimate growth: raise --rate-limit/--tool-limit; abuse: block the key or the IP at the proxy.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleP99AboveTarget',
      expr:
        'histogram_quantile(0.99, sum by (le) (rate(mcp_server_operation_duration_seconds_bucket{mcp_method_name!="initialize"}[5m])))' +
        ` > ${options.alertP99S}`,
      for: '10m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'p99 of MCP requests is {{ $value | humanizeDuration }}',
        description: `The 99th percentile of MCP request duration at the gateways has been above ${options.alertP99S}s for 10 minutes.`,
        runbook: [
          'Users: one call in a hundred is slower than the target.',
          '1. Which method or tool? `histogram_quantile(0.99, sum by (le, mcp_method_name) (rate(mcp_server_operation_duration_seconds_bucket[5m])))`.',
          '2. Traces (--otlp-endpoint) show where the time goes: rate limit, re-home, the upstream exchange, a cache miss, or the server itself.',
          '3. Saturation: compare mcp_scale_worker_inflight_requests with --max-inflight; add workers if they are busy.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleRedisDegraded',
      expr: 'mcp_scale_gateway_redis_up{mode="redis"} == 0',
      for: '1m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'gateway {{ $labels.instance }} cannot reach Redis',
        description: 'The gateway has not had a ready Redis connection for 1 minute.',
        runbook: [
          'Users: known sessions keep working from gateway memory; sessions unknown to this gateway get 503; rate limits follow --limits-on-redis-failure; the tool cache is bypassed.',
          '1. `redis-cli -u $REDIS_URL ping` from the gateway host; check Redis memory (maxmemory, evictions) and failover (Sentinel/Cluster).',
          '2. /readyz on the gateway says degraded: true with the reason.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleSessionsNearCap',
      // The worker's own bound when it has one (it reports it); the fixed
      // --alert-sessions-cap for workers without (--server-cmd, or 0 = unbounded).
      expr: [
        '(mcp_scale_worker_sessions > 0.9 * (mcp_scale_worker_sessions_max > 0))',
        `or (mcp_scale_worker_sessions > ${Math.floor(options.alertSessionsCap * 0.9)} unless (mcp_scale_worker_sessions_max > 0))`,
      ].join(' '),
      for: '5m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'worker {{ $labels.worker }} holds {{ $value }} sessions',
        description: `Worker {{ $labels.worker }} holds more than 90% of its live-session bound (--max-sessions-per-worker; ${options.alertSessionsCap} from --alert-sessions-cap for a worker without one).`,
        runbook: [
          'Users: none yet; at the bound the least recently used idle session is evicted (its next request is replayed, slower) and, when every session is busy, new ones get 503.',
          '1. Is it real load or a client opening sessions in a loop? `mcp-scale sessions list` groups them by user; `mcp_scale_worker_session_evictions_total` shows the churn.',
          '2. Add workers, raise --max-sessions-per-worker if memory allows (docs/session-bounds.md), or lower --session-ttl so idle sessions end sooner.',
        ].join('\n'),
      },
    },
    {
      alert: 'McpScaleCacheHitRatioCollapsed',
      expr: [
        '(sum(rate(mcp_scale_worker_cache_total{outcome="hit"}[5m])) / clamp_min(sum(rate(mcp_scale_worker_cache_total[5m])), 1e-9))',
        '< 0.5 * (sum(rate(mcp_scale_worker_cache_total{outcome="hit"}[1h])) / clamp_min(sum(rate(mcp_scale_worker_cache_total[1h])), 1e-9))',
        'and sum(rate(mcp_scale_worker_cache_total[5m])) > 1',
      ].join(' '),
      for: '10m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'tool cache hit ratio fell to {{ $value | humanizePercentage }}',
        description:
          'The tool-result cache hit ratio of the last 5 minutes is less than half that of the last hour.',
        runbook: [
          'Users: cached tools now reach the server: higher latency and backend load.',
          '1. Bypasses? `sum by (tool) (rate(mcp_scale_worker_cache_total{outcome="bypass"}[5m]))`: the cache store (Redis) is slow or down (--cache-timeout).',
          '2. Misses by tool: a deploy changed arguments or TTLs, or something invalidates too much (`mcp-scale cache stats`).',
        ].join('\n'),
      },
    },
  ];
}

export function alertRulesFile(options: MonitoringOptions, header: string[]): string {
  const file = { groups: [{ name: 'mcp-scale', rules: alertRules(options) }] };
  return `${header.map((line) => `# ${line}`).join('\n')}\n${YAML.stringify(file, { lineWidth: 0 })}`;
}
