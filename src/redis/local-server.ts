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
  /** Extra arguments, e.g. ['--maxmemory', '64mb']. */
  args?: string[];
  /**
   * Require a password (`requirepass`): a given one, or `true` for a fresh
   * random one (32 bytes). It reaches redis-server on stdin as a config
   * line, never in argv where every user of the machine could read it.
   */
  password?: string | true;
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
  const password = options.password === true ? randomBytes(32).toString('hex') : options.password;
  const args = [
    // `-`: the config file is stdin (the password travels there).
    ...(password !== undefined ? ['-'] : []),
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
  const child = spawn(binary, args, {
    stdio: [password !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (password !== undefined) child.stdin?.end(`requirepass ${password}\n`);
  await waitForReady(child, options.readyTimeoutMs ?? 10_000);
  const pid = child.pid ?? 0;
  let closed: Promise<void> | undefined;
  return {
    url: password !== undefined ? `redis://:${password}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    password,
    port,
    pid,
    close() {
      closed ??= stop(child);
      return closed;
    },
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not become ready in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
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
