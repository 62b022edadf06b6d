import type { ClusterConfig } from '../config/cluster-config.js';
import { roleInvocation } from '../config/settings/role-invocation.js';
import { GATEWAY_PORT, WORKER_PORT } from './proxy-model.js';
import type { GenOptions } from './types.js';

/**
 * The command lines and secret environment compose and Kubernetes give each
 * role, derived from the settings registry (roleInvocation): every setting
 * the role reads that differs from the role's default is passed; secrets
 * (cluster secret, tokens, a Redis URL with a password) come back as
 * environment variables for .env or the Kubernetes Secret, never argv.
 */
export interface RoleCommand {
  args: string[];
  /** Secret variables this role needs (name → value). */
  env: Record<string, string>;
}

export interface WorkerArgsInput {
  id: string;
  advertiseUrl: string;
  /** The Redis URL the role uses. */
  redisUrl: string;
  /** Path of the server module inside the image. */
  server?: string;
  /** Settings sent by environment even when not secret (k8s: the Redis URL, from the Secret). */
  viaEnv?: readonly string[];
}

function settingsFor(options: GenOptions, overrides: Partial<ClusterConfig>): ClusterConfig {
  return { ...options.settings, clusterSecret: options.clusterSecret, ...overrides };
}

/** `mcp-scale worker ...` */
export function workerCommand(options: GenOptions, input: WorkerArgsInput): RoleCommand {
  // Without a gateway tier the proxy reaches workers directly: they authenticate and limit
  // themselves, and the proxy's X-Forwarded-For is the client address.
  const behindProxy = options.affinity !== 'gateway';
  const direct = options.settings.directWorkers || behindProxy;
  const invocation = roleInvocation(
    settingsFor(options, {
      host: '0.0.0.0',
      port: WORKER_PORT,
      redis: input.redisUrl,
      server: input.server,
      // Without gateways the proxy sends clients' requests to workers unsigned.
      directWorkers: direct,
      ...(behindProxy ? { auth: { ...options.settings.auth, trustProxy: true } } : {}),
    }),
    'worker',
    { viaEnv: input.viaEnv, direct },
  );
  return {
    args: ['worker', ...invocation.args, '--id', input.id, '--advertise-url', input.advertiseUrl],
    env: invocation.env,
  };
}

export function gatewayCommand(
  options: GenOptions,
  redisUrl: string,
  viaEnv: readonly string[] = [],
): RoleCommand {
  const invocation = roleInvocation(
    // nginx / the Ingress is the gateway's only peer: trust its X-Forwarded-For.
    settingsFor(options, {
      host: '0.0.0.0',
      port: GATEWAY_PORT,
      redis: redisUrl,
      auth: { ...options.settings.auth, trustProxy: true },
    }),
    'gateway',
    { viaEnv },
  );
  return { args: ['gateway', ...invocation.args], env: invocation.env };
}

/** Kubernetes Secret key of an environment variable: MCP_SCALE_JWT_SECRET → jwt-secret. */
export function secretKey(envName: string): string {
  return envName
    .replace(/^MCP_SCALE_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

/** A YAML flow sequence of double-quoted strings: `["a", "b"]`. */
export function yamlList(values: string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
}
