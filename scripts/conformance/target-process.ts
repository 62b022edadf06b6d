import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { OperationalError } from '../../src/errors.js';
import { isProcessAlive, waitForExit } from '../../src/util/process.js';

/** What `serve` and `worker` write to `--ready-file` once they accept requests. */
export interface ReadyInfo {
  url: string;
  /** `worker` and `gateway` name themselves. */
  role?: string;
  id?: string;
  pid?: number;
  redis?: { mode: string; url?: string };
  instances?: { id: string; pid: number; port: number; url?: string }[];
  /** Present when `serve --lb` put a load balancer in front; `url` is then the balancer's. */
  lb?: { kind: string; affinity: string; url: string; pid: number };
}

export interface RunningTarget {
  pid: number;
  ready: ReadyInfo;
  /** SIGTERM, then SIGKILL after the grace period; instances still alive are killed by their PIDs. */
  stop(): Promise<void>;
}

export interface StartTargetOptions {
  argv: string[];
  readyFile: string;
  logFile: string;
  cwd: string;
  timeoutMs: number;
  stopGraceMs?: number;
}

/**
 * Starts `node <argv>` with output to a log file and resolves once the ready
 * file holds JSON with a `url`. Fails fast, with the log's tail, if the
 * process exits first.
 */
export async function startTarget(options: StartTargetOptions): Promise<RunningTarget> {
  fs.rmSync(options.readyFile, { force: true });
  const log = fs.openSync(options.logFile, 'w');
  const child = spawn(process.execPath, options.argv, { cwd: options.cwd, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new OperationalError(`could not start ${options.argv[0]}`, 'target-spawn');
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => (exited = code ?? (signal ? -1 : null)));

  const stop = async () => {
    if (isProcessAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, options.stopGraceMs ?? 20_000))) process.kill(pid, 'SIGKILL');
    }
    const children = [...(ready?.instances ?? []).map((i) => i.pid), ...(ready?.lb ? [ready.lb.pid] : [])];
    for (const child of children) {
      if (child !== pid && isProcessAlive(child)) process.kill(child, 'SIGKILL');
    }
  };

  let ready: ReadyInfo | undefined;
  const deadline = Date.now() + options.timeoutMs;
  while (!ready) {
    ready = readReadyFile(options.readyFile);
    if (ready) break;
    if (exited !== undefined || Date.now() > deadline) {
      await stop();
      const why = exited !== undefined ? `exited with ${exited}` : `not ready after ${options.timeoutMs} ms`;
      throw new OperationalError(
        `${options.argv.join(' ')} ${why}:\n${logTail(options.logFile)}`,
        'target-start',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid, ready, stop };
}

function readReadyFile(file: string): ReadyInfo | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ReadyInfo;
    return typeof parsed.url === 'string' ? parsed : undefined;
  } catch {
    // Not there yet, or caught mid-write.
    return undefined;
  }
}

function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
