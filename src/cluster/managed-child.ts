import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import readline from 'node:readline';
import { isFailedMessage, isReadyMessage, type ReadyMessage } from './ready-signal.js';

export interface ChildSpec {
  /** w1, w2 …, gateway. */
  name: string;
  /**
   * How to start it: an mcp-scale role (node + CLI), the same role forked
   * through Node's `cluster` module (gateways sharing one listening port,
   * this process being the cluster primary), or any shell command.
   */
  launch:
    | { kind: 'role'; cliPath: string; args: string[]; execArgv?: string[] }
    | { kind: 'cluster-role'; cliPath: string; args: string[] }
    | { kind: 'command'; command: string };
  env: NodeJS.ProcessEnv;
  port: number;
  /** For commands (no IPC): poll this URL until it answers any HTTP status. */
  probeUrl?: string;
  readyTimeoutMs: number;
  /** Restart after an unexpected exit, with backoff. */
  restart: boolean;
  /** Give up after this many restarts (undefined = never give up). */
  maxRestarts?: number;
  log(line: string): void;
}

const QUICK_CRASH_MS = 10_000;

/**
 * One child process of the supervisor: started, watched, restarted with
 * exponential backoff when it dies, and stopped by its pid.
 */
export class ManagedChild extends EventEmitter {
  private child?: ChildProcess;
  private stopping = false;
  private quickCrashes = 0;
  private startedAt = 0;
  private restartTimer?: NodeJS.Timeout;
  restarts = 0;
  private isServing = false;
  /** What the role reported when it became ready (URL and actual port). */
  ready?: ReadyMessage;

  constructor(readonly spec: ChildSpec) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Started and ready, not exited since: what a liveness probe may judge (a slow start is not a hang). */
  get serving(): boolean {
    return this.isServing && this.running;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends an IPC message (role children only). */
  send(message: unknown): void {
    if (this.child?.connected) this.child.send(message as never);
  }

  /** Starts the process and resolves once it serves. */
  async start(): Promise<void> {
    const child = this.spawnChild();
    this.child = child;
    this.startedAt = Date.now();
    try {
      await this.waitReady(child);
    } catch (error) {
      // The exit handler is not armed yet, so this kill restarts nothing.
      await this.kill(child, 'SIGKILL', 2000);
      throw error;
    }
    this.isServing = true;
    child.once('exit', (code, signal) => {
      this.isServing = false;
      this.onExit(child, code, signal);
    });
    this.emit('ready', this);
  }

  private spawnChild(): ChildProcess {
    const { launch, env, name } = this.spec;
    const child =
      launch.kind === 'cluster-role'
        ? forkClusterWorker(launch.cliPath, launch.args, env)
        : launch.kind === 'role'
          ? spawn(process.execPath, [...(launch.execArgv ?? []), launch.cliPath, ...launch.args], {
              env,
              stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
              // Its own process group: Ctrl+C in a terminal reaches only the
              // supervisor, which drains the gateway first, then the workers.
              detached: true,
            })
          : spawn('/bin/sh', ['-c', execIfSimple(launch.command)], {
              env,
              stdio: ['ignore', 'pipe', 'pipe'],
              // Its own process group, so stopping it stops what the shell started.
              detached: true,
            });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => this.spec.log(`[${name}] ${line}`));
    }
    child.on('message', (message) => this.emit('message', message, this));
    child.on('error', (error) => this.spec.log(`[${name}] ${error.message}`));
    return child;
  }

  private waitReady(child: ChildProcess): Promise<void> {
    const { spec } = this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Promise((resolve, reject) => {
      let probe: NodeJS.Timeout | undefined;
      const timer = setTimeout(
        () => finish(new Error(`${spec.name} did not become ready within ${spec.readyTimeoutMs} ms`)),
        spec.readyTimeoutMs,
      );
      const onMessage = (message: unknown) => {
        if (isReadyMessage(message)) {
          self.ready = message;
          finish();
        } else if (isFailedMessage(message)) finish(new Error(`${spec.name}: ${message.message}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(new Error(`${spec.name} exited (${signal ?? code}) before it was ready`));
      function finish(error?: Error) {
        clearTimeout(timer);
        if (probe) clearTimeout(probe);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (spec.launch.kind === 'command' && spec.probeUrl) {
        const url = spec.probeUrl;
        const attempt = () => {
          fetch(url, { signal: AbortSignal.timeout(1000) })
            .then((response) => {
              void response.body?.cancel();
              finish();
            })
            .catch(() => {
              probe = setTimeout(attempt, 50);
            });
        };
        attempt();
      }
    });
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    // A --server-cmd shell killed alone leaves its server orphaned on the port: end its whole group.
    if (this.spec.launch.kind === 'command') this.signal(child, 'SIGKILL');
    this.emit('exit', { code, signal });
    if (this.stopping || !this.spec.restart) return;
    if (this.spec.maxRestarts !== undefined && this.restarts >= this.spec.maxRestarts) {
      this.spec.log(
        `[${this.spec.name}] exited (${signal ?? code}); not restarted: it was restarted ${this.restarts} times (--max-restarts ${this.spec.maxRestarts})`,
      );
      this.emit('gave-up', this);
      return;
    }
    const ranFor = Date.now() - this.startedAt;
    this.quickCrashes = ranFor < QUICK_CRASH_MS ? this.quickCrashes + 1 : 0;
    const delay = Math.min(100 * 2 ** Math.max(0, this.quickCrashes - 1), 5000);
    this.spec.log(`[${this.spec.name}] exited (${signal ?? code}); restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.restarts++;
      this.start().then(
        () => this.emit('restarted', this),
        (error: Error) => {
          this.spec.log(`[${this.spec.name}] restart failed: ${error.message}`);
          // Try again later: the exit handler of the failed attempt is not armed.
          this.onExit(this.child!, null, null);
        },
      );
    }, delay);
  }

  /** Kills a hung child; its exit triggers the restart. */
  forceRestart(reason: string): void {
    if (!this.child || !this.running) return;
    this.spec.log(`[${this.spec.name}] ${reason}: killing pid ${this.child.pid}`);
    this.signal(this.child, 'SIGKILL');
  }

  /** SIGTERM, then SIGKILL after the timeout. Safe to call twice. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.child) await this.kill(this.child, 'SIGTERM', timeoutMs);
  }

  private async kill(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.signal(child, signal);
    const timer = setTimeout(() => this.signal(child, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (this.spec.launch.kind === 'command' && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * A cluster worker of this process: it shares the listening sockets this
 * process holds for it (round robin, the primary accepts). It stays in our
 * process group (cluster.fork has no `detached`), so the role ignores
 * SIGINT and waits for the supervisor's SIGTERM to drain in order.
 */
function forkClusterWorker(cliPath: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Settings apply to the next fork only; execArgv [] as for spawned roles.
  cluster.setupPrimary({ exec: cliPath, args, execArgv: [], silent: true });
  return cluster.fork(env).process;
}

/**
 * `exec` a simple command so the pid we record (ready file, kill -9 in a
 * failover drill) is the server itself, not a shell waiting on it. Commands
 * with shell control operators keep their shell (its process group is
 * still stopped as a whole).
 */
function execIfSimple(command: string): string {
  return /[;&|`$()<>\n]/.test(command) ? command : `exec ${command}`;
}
