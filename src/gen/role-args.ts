import { defaultClusterConfig } from '../config/cluster-config.js';
import { GATEWAY_PORT, WORKER_PORT } from './proxy-model.js';
import type { GenOptions } from './types.js';

/**
 * The command lines compose and Kubernetes give each role. Only flags the
 * roles share with `serve` are passed, and a setting is passed only when it
 * differs from the default, so the generated files stay short.
 */

/** Flags both roles take that mirror cluster settings. */
function sharedSettingArgs(options: GenOptions): string[] {
  const defaults = defaultClusterConfig();
  const args: string[] = [];
  if (options.path !== defaults.path) args.push('--path', options.path);
  if (options.maxBodyBytes !== defaults.maxBodyBytes) args.push('--max-body', String(options.maxBodyBytes));
  if (options.sessions !== defaults.sessions) args.push('--sessions', options.sessions);
  if (options.drainTimeoutMs !== defaults.drainTimeoutMs)
    args.push('--drain-timeout', `${Math.ceil(options.drainTimeoutMs / 1000)}s`);
  return args;
}

export interface WorkerArgsInput {
  id: string;
  advertiseUrl: string;
  redisUrl: string;
  /** Path of the server module inside the image. */
  server?: string;
}

/** `mcp-scale worker ...`; workers take no --trust-proxy (they do no per-IP limiting). */
export function workerArgs(options: GenOptions, input: WorkerArgsInput): string[] {
  const args = [
    'worker',
    '--host',
    '0.0.0.0',
    '--port',
    String(WORKER_PORT),
    '--redis',
    input.redisUrl,
    '--id',
    input.id,
    '--advertise-url',
    input.advertiseUrl,
  ];
  if (input.server) args.push('--server', input.server);
  return [...args, ...sharedSettingArgs(options)];
}

export function gatewayArgs(options: GenOptions, redisUrl: string): string[] {
  return [
    'gateway',
    '--host',
    '0.0.0.0',
    '--port',
    String(GATEWAY_PORT),
    '--redis',
    redisUrl,
    // nginx / the Ingress is the gateway's only peer: trust its X-Forwarded-For.
    '--trust-proxy',
    ...sharedSettingArgs(options),
  ];
}

/** A YAML flow sequence of double-quoted strings: `["a", "b"]`. */
export function yamlList(values: string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
}
