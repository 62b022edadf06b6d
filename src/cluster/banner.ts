import { formatDuration } from '../config/duration.js';
import type { ClusterConfig } from '../config/cluster-config.js';
import { resolveTracing } from '../telemetry/tracing-config.js';
import type { RunningCluster } from './supervisor.js';

/** The one banner `serve` prints when everything is ready. */
export function formatBanner(cluster: RunningCluster, config: ClusterConfig): string {
  const info = cluster.info();
  const direct = info.lb !== undefined && info.lb.affinity !== 'gateway';
  const legacy =
    config.sessions === 'stateless'
      ? 'stateless: no sessions'
      : direct
        ? `sessions kept on their worker by ${info.lb!.kind}; no failover, the gateway is bypassed`
        : 'sessions, gateway-owned, survive worker deaths';
  const lines = [
    'mcp-scale serve: ready',
    `  MCP endpoint  ${info.url}`,
    `  eras          2025 (${legacy}) + 2026-07-28 (stateless)`,
    `  workers       ${info.instances.map((w) => `${w.id} pid ${w.pid} port ${w.port}`).join(', ')}`,
    `  server        ${info.server}`,
    info.gateways.length > 1
      ? `  gateways      ${info.gateways.map((g) => `${g.id} pid ${g.pid} ${info.lb ? 'port' : 'admin port'} ${g.port}`).join(', ')}${
          info.lb ? '' : ` (sharing port ${info.gateway.port})`
        }`
      : `  gateway       pid ${info.gateway.pid} port ${info.gateway.port}`,
    `  dashboard     ${new URL('/_mcp-scale/', info.gateway.url).toString()}${
      config.adminToken ? ' (sign in with the admin token)' : ' (loopback clients)'
    }`,
    `  Redis         ${cluster.redisDescription}`,
  ];
  const tracing = resolveTracing(config.otlpEndpoint);
  if (tracing) lines.push(`  traces        OTLP ${tracing.protocol} to ${tracing.tracesUrl}`);
  if (info.lb)
    lines.push(
      `  load balancer ${info.lb.kind} (affinity ${info.lb.affinity}) pid ${info.lb.pid} at ${info.lb.url}`,
    );
  if (config.sessions === 'stateless') {
    lines.push(
      '  note          stateless mode: 2025 clients get no session, so server-to-client requests (sampling,',
      '                elicitation), GET notification streams and stream resumption are unavailable to them.',
    );
  } else {
    lines.push(`  sessions      idle TTL ${formatDuration(config.sessionTtlMs)}`);
  }
  if (cluster.stateFile) lines.push(`  state file    ${cluster.stateFile}`);
  lines.push(`Press Ctrl+C to stop (in-flight requests get up to ${formatDuration(config.drainTimeoutMs)}).`);
  return lines.join('\n');
}
