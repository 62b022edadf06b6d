import type { ClusterConfig } from '../config/cluster-config.js';
import { UserError } from '../errors.js';
import { reachableHost } from '../http/listen.js';
import { findFreePort, httpUrl } from '../util/net.js';
import { ManagedChild } from './managed-child.js';
import { serveClusterMetrics } from './metrics-aggregation.js';

/**
 * serve's gateway tier: one gateway, or N of them behind one address.
 *  - one: a child on the entry port (as always);
 *  - N without --lb: cluster workers of the supervisor sharing the entry
 *    port (Node's `cluster`, round robin), each with its own admin port;
 *  - N with --lb: children on their own ports, the balancer in front.
 * Each is a ManagedChild: supervised and restarted on its ports.
 */
export interface GatewayTierOptions {
  config: ClusterConfig;
  /** A gateway's role argv and environment, with its own host and port. */
  invoke(overrides: { host: string; port: number }): { args: string[]; env: NodeJS.ProcessEnv };
  /** `--worker id=url` for each worker. */
  workerArgs: string[];
  cliPath: string;
  log: (line: string) => void;
}

export interface GatewayEntry {
  id: string;
  pid: number;
  /** This gateway's own port for /healthz, /readyz, /metrics and status. */
  port: number;
  /** Its MCP endpoint (the shared one when the port is shared). */
  url: string;
}

export interface GatewayTier {
  children: ManagedChild[];
  /** How the gateways are reached: 'single', 'cluster' (shared port) or 'balanced' (own ports, --lb). */
  layout: 'single' | 'cluster' | 'balanced';
  /** What MCP clients connect to when no balancer is in front (the first gateway's with --lb). */
  entryPort: number;
  list(): GatewayEntry[];
  /** The balancer's upstreams (each gateway's own MCP URL). */
  upstreams(): { id: string; url: string }[];
  /** Each gateway's /healthz, for the supervisor's liveness checks. */
  healthUrl(child: ManagedChild): string;
  start(): Promise<void>;
  stop(timeoutMs: number): Promise<void>;
}

/** `--gateways N` (N > 1) needs shared sessions and limits: refused in memory mode. */
export function checkGatewayCount(config: ClusterConfig, redisMode: string): void {
  if (config.gateways > 1 && redisMode === 'memory') {
    throw new UserError(
      `--gateways ${config.gateways} needs Redis: in memory mode each gateway would keep its own sessions and limits (use --redis auto or a URL)`,
    );
  }
  if (config.gateways > 1 && config.lb && config.affinity !== 'gateway') {
    throw new UserError(
      `--gateways ${config.gateways} with --affinity ${config.affinity}: the balancer sends clients to the workers, not to gateways (use --affinity gateway)`,
    );
  }
}

export async function createGatewayTier(options: GatewayTierOptions): Promise<GatewayTier> {
  const { config } = options;
  const count = config.gateways;
  const layout = count === 1 ? 'single' : config.lb ? 'balanced' : 'cluster';
  // Fixed ports, so a restarted gateway comes back where clients (and the balancer) expect it.
  const host = config.lb ? '127.0.0.1' : config.host;
  const entryPort = config.lb || config.port === 0 ? await findFreePort() : config.port;
  const specs: { id: string; port: number; adminPort?: number }[] = [];
  for (let i = 1; i <= count; i++) {
    const id = count === 1 ? 'gateway' : `g${i}`;
    if (layout === 'cluster') specs.push({ id, port: entryPort, adminPort: await findFreePort() });
    else specs.push({ id, port: i === 1 ? entryPort : await findFreePort() });
  }
  const children = specs.map((spec) => {
    const role = options.invoke({ host, port: spec.port });
    return new ManagedChild({
      name: spec.id,
      launch: {
        kind: layout === 'cluster' ? 'cluster-role' : 'role',
        cliPath: options.cliPath,
        args: [
          ...role.args,
          ...options.workerArgs,
          ...(count > 1 ? ['--id', spec.id] : []),
          ...(spec.adminPort ? ['--admin-port', String(spec.adminPort)] : []),
        ],
      },
      env: role.env,
      port: spec.port,
      readyTimeoutMs: 30_000,
      restart: true,
      log: options.log,
    });
  });
  if (layout === 'cluster') for (const child of children) serveClusterMetrics(child);
  const adminPortOf = (child: ManagedChild) => specs[children.indexOf(child)]?.adminPort ?? child.spec.port;
  // Where this machine reaches a gateway (bound to --host without --lb).
  const probeHost = reachableHost(host);
  const ownUrl = (child: ManagedChild) => httpUrl(probeHost, child.spec.port, config.path);
  return {
    children,
    layout,
    entryPort,
    list: () =>
      children.map((child) => ({
        id: child.spec.name,
        pid: child.pid ?? 0,
        port: adminPortOf(child),
        url: ownUrl(child),
      })),
    upstreams: () => children.map((child) => ({ id: child.spec.name, url: ownUrl(child) })),
    healthUrl: (child) => httpUrl(probeHost, adminPortOf(child), '/healthz'),
    async start() {
      await Promise.all(children.map((child) => child.start()));
    },
    async stop(timeoutMs) {
      await Promise.all(children.map((child) => child.stop(timeoutMs)));
    },
  };
}
