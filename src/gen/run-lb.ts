import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Affinity } from '../config/cluster-config.js';
import { OperationalError, UserError } from '../errors.js';
import { WORKER_ID_PATTERN } from '../protocol/headers.js';
import { findFreePort, httpUrl } from '../util/net.js';
import { which } from '../util/process.js';
import { haproxyChoices, nginxChoices } from './choices.js';
import { makeRunPrefix, removeRunPrefix } from './lb-prefix.js';
import { wholeSeconds } from './options.js';
import { stopProcessTree } from './process-tree.js';
import {
  DEFAULT_STREAMS_PER_IP,
  PROXY_BODY_TIMEOUT_S,
  PROXY_FAILOVER,
  tierFor,
  type ProxyModel,
} from './proxy-model.js';
import { renderTemplate } from './templates.js';
import type { ProxyRateLimit, UpstreamAddress } from './types.js';

export interface LoadBalancerUpstream {
  /** Gateway or worker id; with affinity session it must be the worker's own id. */
  id: string;
  /** `http://host:port` (a path is ignored). */
  url: string;
}

export interface LoadBalancerOptions {
  kind: 'nginx' | 'haproxy';
  /** Default 'gateway' (upstreams are gateways); 'session' | 'ip' | 'none' put workers behind it. */
  affinity?: Affinity;
  listenHost?: string;
  /** 0 or undefined: a free port. */
  listenPort?: number;
  upstreams: LoadBalancerUpstream[];
  /** Default 4 MiB, as the gateway's. */
  maxBodyBytes?: number;
  /** How long a quiet SSE stream may stay open. Default 1h. */
  streamTimeoutMs?: number;
  rateLimit?: ProxyRateLimit;
  /**
   * Re-resolve upstream host names through this DNS server at run time
   * (HAProxy `resolvers`; nginx needs >= 1.27.3 for `resolve`). Default:
   * names are resolved once at start.
   */
  resolver?: { address: string; port: number; validS?: number };
  /** nginx: concurrent SSE GET streams per client IP (default 256; 0 = no limit). */
  streamsPerIp?: number;
  /** Write an access log to <prefix>/access.log. Default off. */
  accessLog?: boolean;
  /** Path of the nginx / haproxy binary; default: found on PATH or in sbin. */
  binary?: string;
  readyTimeoutMs?: number;
  /**
   * Ready means a GET /healthz through the proxy answered 200 (the proxy is
   * up and reaches an upstream). false: any HTTP answer from the proxy will do.
   */
  waitForUpstream?: boolean;
}

export interface RunningLoadBalancer {
  kind: 'nginx' | 'haproxy';
  /** `http://host:port` clients connect to. */
  url: string;
  port: number;
  /** The nginx master or the haproxy process. */
  pid: number;
  /** Private folder with the rendered config and runtime files (removed by close). */
  prefix: string;
  configFile: string;
  /** The last lines the proxy wrote to stderr/stdout. */
  output(): string;
  /** Stops the proxy (and nginx's workers) by pid and removes the prefix. Safe to call twice. */
  close(): Promise<void>;
}

const BINARIES = { nginx: 'nginx', haproxy: 'haproxy' } as const;

/**
 * Runs the generated nginx or HAProxy config for real, as a child process in
 * the foreground, in front of the given upstreams: the same template `gen`
 * renders, with a loopback listener and runtime paths in a private prefix.
 * Resolves once a request through the proxy is answered.
 */
export async function startLoadBalancer(options: LoadBalancerOptions): Promise<RunningLoadBalancer> {
  const binary = options.binary ?? which(BINARIES[options.kind]);
  if (!binary) {
    throw new OperationalError(
      `${options.kind} is not installed (not found on PATH or in sbin)`,
      'LB_MISSING',
    );
  }
  const upstreams = options.upstreams.map(parseUpstreamUrl);
  if (upstreams.length === 0) throw new UserError('startLoadBalancer needs at least one upstream');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.listenPort || (await findFreePort(options.listenHost ?? '127.0.0.1'));
    try {
      return await launch(binary, port, upstreams, options);
    } catch (error) {
      lastError = error;
      // Only a port taken between findFreePort and bind is worth another try.
      if (options.listenPort || !/in use|EADDRINUSE|cannot bind/i.test(String(error))) break;
    }
  }
  throw lastError;
}

function parseUpstreamUrl(upstream: LoadBalancerUpstream): UpstreamAddress {
  if (!WORKER_ID_PATTERN.test(upstream.id)) {
    throw new UserError(`upstream id '${upstream.id}' must match ${WORKER_ID_PATTERN}`);
  }
  let url: URL;
  try {
    url = new URL(upstream.url);
  } catch {
    throw new UserError(`upstream ${upstream.id}: '${upstream.url}' is not a URL`);
  }
  if (url.protocol !== 'http:')
    throw new UserError(`upstream ${upstream.id}: only http:// upstreams are supported`);
  return { id: upstream.id, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
}

export function localProxyModel(
  options: LoadBalancerOptions,
  port: number,
  upstreams: UpstreamAddress[],
  prefix: string,
): ProxyModel {
  const affinity = options.affinity ?? 'gateway';
  const model: ProxyModel = {
    affinity,
    tier: tierFor(affinity),
    listenHost: options.listenHost ?? '127.0.0.1',
    listenPort: port,
    serverName: '_',
    rateLimit: options.rateLimit,
    maxBodyBytes: options.maxBodyBytes ?? 4 * 1024 * 1024,
    streamTimeoutS: wholeSeconds(options.streamTimeoutMs ?? 3_600_000),
    connectTimeoutS: PROXY_FAILOVER.connectTimeoutS,
    failover: PROXY_FAILOVER,
    bodyTimeoutS: PROXY_BODY_TIMEOUT_S,
    streamsPerIp: options.streamsPerIp ?? DEFAULT_STREAMS_PER_IP,
    resolver: options.resolver && { validS: 10, ...options.resolver },
    upstreams,
    runtime: {
      pidFile: path.join(prefix, 'nginx.pid'),
      lockFile: path.join(prefix, 'nginx.lock'),
      tempDir: `${prefix}/`,
      errorLog: 'stderr',
      accessLog: options.accessLog ? path.join(prefix, 'access.log') : 'off',
      workerProcesses: 'auto',
      haproxyLog: options.accessLog ? 'stderr format raw local0' : undefined,
    },
    header: [],
  };
  const choices = options.kind === 'nginx' ? nginxChoices(model) : haproxyChoices(model);
  model.header = [...choices, '', `Local run by mcp-scale (startLoadBalancer), prefix ${prefix}.`];
  return model;
}

async function launch(
  binary: string,
  port: number,
  upstreams: UpstreamAddress[],
  options: LoadBalancerOptions,
): Promise<RunningLoadBalancer> {
  const prefix = makeRunPrefix(options.kind);
  const model = localProxyModel(options, port, upstreams, prefix);
  const configFile = path.join(prefix, options.kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg');
  const template = options.kind === 'nginx' ? 'nginx/nginx.conf.ejs' : 'haproxy/haproxy.cfg.ejs';
  fs.writeFileSync(configFile, renderTemplate(template, { m: model }));
  const args =
    options.kind === 'nginx'
      ? ['-c', configFile, '-p', `${prefix}/`, '-g', 'daemon off;']
      : // -db: stay in the foreground, one process, so its pid is the proxy.
        ['-db', '-f', configFile];
  const child = spawn(binary, args, { cwd: prefix, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = keepTail(child);
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A binary that cannot be started emits 'error' and never 'exit'.
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (child.pid && !spawnError) await stopProcessTree(child.pid, exited);
      removeRunPrefix(prefix);
    })();
    return closing;
  };
  const host = options.listenHost ?? '127.0.0.1';
  const url = httpUrl(host, port);
  try {
    await waitUntilServing(child, url, options, () => spawnError);
  } catch (error) {
    await close();
    const said = output.text().trim().split('\n').slice(-3).join(' | ');
    throw new OperationalError(
      `${options.kind} did not start: ${(error as Error).message}${said ? `: ${said}` : ''}`,
      'LB_START',
      { cause: error },
    );
  }
  return {
    kind: options.kind,
    url,
    port,
    pid: child.pid ?? 0,
    prefix,
    configFile,
    output: () => output.text(),
    close,
  };
}

/** Drains the child's output (a full pipe would stall it) and keeps the last 8 KB. */
function keepTail(child: ChildProcess): { text(): string } {
  let tail = '';
  const add = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { text: () => tail };
}

async function waitUntilServing(
  child: ChildProcess,
  url: string,
  options: LoadBalancerOptions,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  const wantUpstream = options.waitForUpstream ?? true;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw error;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    const status = await probe(`${url}/healthz`);
    if (status === 200 || (status !== undefined && !wantUpstream)) return;
    last = status === undefined ? 'not accepting connections' : `GET /healthz answered ${status}`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not ready after ${options.readyTimeoutMs ?? 10_000} ms (${last})`);
}

/** The status of one GET, or undefined when nothing answered. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
