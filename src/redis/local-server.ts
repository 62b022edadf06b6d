import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { OperationalError } from '../errors.js';
import { findFreePort } from '../util/net.js';
import { which } from '../util/process.js';

export interface LocalRedis {
  /** `redis://127.0.0.1:PORT`, with `:PASSWORD@` when the server requires one: a secret, redact it in logs. */
  url: string;
  /** The password the server requires, if any. */
  password?: string;
  port: number;
  pid: number;
  /** Stops the server by its pid (SIGTERM, then SIGKILL). Safe to call twice. */
  close(): Promise<void>;
}

export interface LocalRedisOptions {
  port?: number;
  /** Extra arguments, e.g. ['--maxmemory', '64mb']. Visible in `ps`: never put a secret here. */
  args?: string[];
  /**
   * Require a password: a given one, or `true` for a fresh random one (32
   * bytes). `requirepass` and `masterauth` (so the server can also replicate
   * from, or be a replica of, a server with the same password) reach
   * redis-server on stdin as config lines, never in argv where every user of
   * the machine could read them.
   */
  password?: string | true;
  /** Configuration directives given on stdin (one per line), e.g. `replicaof 127.0.0.1 6379`. */
  config?: string[];
  /**
   * Run as a Redis Sentinel from this config file (which sentinel rewrites,
   * so it must be writable and private to this user).
   */
  sentinelConfigFile?: string;
  binary?: string;
  readyTimeoutMs?: number;
}

export function findRedisServer(): string | undefined {
  return which('redis-server');
}

/**
 * Starts a private, non-persistent redis-server on a free loopback port and
 * resolves once it logs that it accepts connections. Used by `serve` when no
 * Redis was named, and by the tests.
 */
export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const binary = options.binary ?? findRedisServer();
  if (!binary)
    throw new OperationalError('redis-server is not installed (not found on PATH)', 'REDIS_MISSING');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await launch(binary, port, options);
    } catch (error) {
      lastError = error;
      if (options.port !== undefined) break;
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number, options: LocalRedisOptions): Promise<LocalRedis> {
  const sentinel = options.sentinelConfigFile !== undefined;
  const password = options.password === true ? randomBytes(32).toString('hex') : options.password;
  const stdinConfig = [
    ...(password !== undefined ? [`requirepass ${password}`, `masterauth ${password}`] : []),
    ...(options.config ?? []),
  ];
  const args = [
    // Sentinel needs its own (rewritable) file; a data node reads its config from stdin ('-').
    ...(sentinel ? [options.sentinelConfigFile!, '--sentinel'] : ['-']),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'yes',
    ...(options.args ?? []),
  ];
  // Its own process group: a terminal's Ctrl+C must not stop Redis under
  // workers that are still draining; whoever started it stops it by pid.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin?.on('error', () => {});
  child.stdin?.end(sentinel ? '' : stdinConfig.map((line) => `${line}\n`).join(''));
  // A sentinel logs no "Ready to accept connections": it is ready once it monitors its master.
  await waitForReady(child, options.readyTimeoutMs ?? 10_000, sentinel ? '+monitor master' : READY_LINE);
  const pid = child.pid ?? 0;
  let closed: Promise<void> | undefined;
  return {
    url:
      password !== undefined && !sentinel
        ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`
        : `redis://127.0.0.1:${port}`,
    password: sentinel ? undefined : password,
    port,
    pid,
    close() {
      closed ??= stop(child);
      return closed;
    },
  };
}

const READY_LINE = 'Ready to accept connections';

function waitForReady(child: ChildProcess, timeoutMs: number, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not become ready in ${timeoutMs} ms (waited for '${marker}')`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        cleanup();
        // Keep draining output so a chatty server never blocks on a full pipe.
        child.stdout?.resume();
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      fail(
        new Error(`redis-server exited (${code}) before it was ready: ${output.trim().split('\n').pop()}`),
      );
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', fail);
    }
    function fail(error: Error) {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', onExit);
    child.once('error', fail);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
