import { ManagedChild } from '../../src/cluster/managed-child.js';
import path from 'node:path';
import { findFreePort, httpUrl } from '../../src/util/net.js';
import { projectRoot } from '../project-root.js';

/** bin/mcp-scale.js of this checkout: supervisor's CLI_PATH is relative to dist/, wrong from dist-dev/. */
const CLI_PATH = path.join(projectRoot(import.meta.url), 'bin', 'mcp-scale.js');

/** Processes the performance script measures: real roles, started like `serve` starts them. */
export interface RoleProcess {
  url: string;
  port: number;
  child: ManagedChild;
  stop(): Promise<void>;
}

const SECRET = 'mcp-scale-perf-cluster-secret-0123456789';

export async function startRole(
  role: 'worker' | 'gateway',
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  execArgv?: string[],
  /** bin/mcp-scale.js of another build (A/B against a baseline); this checkout's by default. */
  cliPath = CLI_PATH,
): Promise<RoleProcess> {
  const port = await findFreePort();
  const child = new ManagedChild({
    name,
    launch: {
      kind: 'role',
      cliPath,
      args: [role, '--host', '127.0.0.1', '--port', String(port), ...args],
      execArgv,
    },
    env: { ...process.env, MCP_SCALE_CLUSTER_SECRET: SECRET, ...env },
    port,
    readyTimeoutMs: 30_000,
    restart: false,
    log: (line) => {
      if (process.env.MCP_SCALE_PERF_VERBOSE) process.stderr.write(`${line}\n`);
    },
  });
  await child.start();
  return { url: httpUrl('127.0.0.1', port, '/mcp'), port, child, stop: () => child.stop(5000) };
}

/** A demo worker; `checkout` runs another build's (a baseline gateway needs its own: the identity format may differ). */
export function startWorker(
  id: string,
  redisUrl: string,
  prefix: string,
  checkout?: string,
): Promise<RoleProcess> {
  return startRole(
    'worker',
    id,
    [
      '--id',
      id,
      '--redis',
      redisUrl,
      '--prefix',
      prefix,
      '--backend-latency',
      '0',
      // bench:perf measures the worker itself too (the `direct` target).
      '--direct-workers',
    ],
    {},
    undefined,
    checkout ? path.join(path.resolve(checkout), 'bin', 'mcp-scale.js') : CLI_PATH,
  );
}

/** A gateway in front of `workers`; `checkout` runs another build of mcp-scale (a baseline to compare). */
export function startGatewayFor(
  workers: { id: string; url: string }[],
  redisUrl: string,
  prefix: string,
  checkout?: string,
): Promise<RoleProcess> {
  return startRole(
    'gateway',
    checkout ? 'baseline' : 'gateway',
    ['--redis', redisUrl, '--prefix', prefix, ...workers.flatMap((w) => ['--worker', `${w.id}=${w.url}`])],
    // Heap figures per session need a collected heap.
    { NODE_OPTIONS: '--expose-gc' },
    // MCP_SCALE_PERF_GATEWAY_NODE_ARGS: node options for the gateway alone, e.g.
    // '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile it (not allowed in NODE_OPTIONS).
    process.env.MCP_SCALE_PERF_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean),
    checkout ? path.join(path.resolve(checkout), 'bin', 'mcp-scale.js') : CLI_PATH,
  );
}
