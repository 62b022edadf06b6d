import { spawn, type ChildProcess } from 'node:child_process';
import { IdentitySigner } from '../../src/cluster/identity.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';
import { startWorkerHost, type WorkerHost, type WorkerHostOptions } from '../../src/worker/host.js';
import { waitForExit } from '../../src/util/process.js';
import { CLI } from './cluster.js';

export const TEST_SECRET = 'test-cluster-secret-0123456789-abcdefghijkl';

/** The identity header a gateway would send (TEST_SECRET) for this user and exactly this request. */
export function signedIdentity(
  user: string | undefined,
  request: { method?: string; sessionId?: string; body?: string },
): Record<string, string> {
  return {
    'mcp-scale-identity': new IdentitySigner(TEST_SECRET).sign(
      { user },
      { method: request.method ?? 'POST', sessionId: request.sessionId, body: request.body },
    ),
  };
}

export interface WorkerProcess {
  id: string;
  url: string;
  port: number;
  pid: number;
  process: ChildProcess;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A real `mcp-scale worker` process on a free port; resolves once it prints its ready line. */
export async function startWorkerProcess(options: {
  id: string;
  redisUrl?: string;
  prefix: string;
  args?: string[];
  port?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<WorkerProcess> {
  const args = [
    CLI,
    'worker',
    '--id',
    options.id,
    '--port',
    String(options.port ?? 0),
    '--prefix',
    options.prefix,
    '--redis',
    options.redisUrl ?? 'memory',
    '--backend-latency',
    '0',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, MCP_SCALE_CLUSTER_SECRET: TEST_SECRET, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${options.id} not ready: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = / ready on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${options.id} exited (${code}): ${output}`));
    });
  });
  return {
    id: options.id,
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await waitForExit(child.pid!, 10_000);
    },
  };
}

/** An in-process worker host with test-friendly defaults (demo shop, no backend latency, TEST_SECRET). */
export function startTestWorkerHost(
  overrides: Partial<WorkerHostOptions> & Pick<WorkerHostOptions, 'id' | 'prefix'>,
): Promise<WorkerHost> {
  return startWorkerHost({
    host: '127.0.0.1',
    port: 0,
    path: '/mcp',
    backendLatencyMs: 0,
    clusterSecret: TEST_SECRET,
    sessions: 'stateful',
    sessionIdleMs: 60_000,
    maxBodyBytes: 1024 * 1024,
    ...overrides,
  });
}

/** An in-process gateway with test-friendly defaults. */
export function startTestGateway(
  overrides: Partial<GatewayOptions> & Pick<GatewayOptions, 'workers'>,
): Promise<Gateway> {
  return startGateway({
    host: '127.0.0.1',
    port: 0,
    path: '/mcp',
    prefix: 'test:',
    clusterSecret: TEST_SECRET,
    sessionTtlMs: 60_000,
    maxInflight: 64,
    maxBodyBytes: 1024 * 1024,
    upstreamTimeoutMs: 30_000,
    drainTimeoutMs: 1000,
    corsOrigins: [],
    allowedHosts: [],
    trustProxy: false,
    healthIntervalMs: 250,
    ...overrides,
  });
}

/** Reads one counter's total from a Prometheus text page. */
export async function metricTotal(metricsUrl: string, name: string): Promise<number> {
  const text = await fetch(metricsUrl).then((r) => r.text());
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
