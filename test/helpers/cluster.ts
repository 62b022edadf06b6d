import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReadyInfo } from '../../src/cluster/supervisor.js';
import { isProcessAlive, waitForExit } from '../../src/util/process.js';

export const CLI = path.resolve(import.meta.dirname, '../../bin/mcp-scale.js');

export interface TestCluster {
  info: ReadyInfo;
  url: string;
  process: ChildProcess;
  home: string;
  readyFile: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number | null>;
}

/** A scratch folder that also serves as MCP_SCALE_HOME, so tests never touch ~/.mcp-scale. */
export function scratchDir(prefix = 'mcp-scale-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Waits for a file to exist and parse as JSON (the ready signal), or for the process to die. */
export async function waitForReadyFile<T>(file: string, child: ChildProcess, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ready`);
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${file} did not appear within ${timeoutMs} ms`);
}

/** Runs `mcp-scale serve` as a real process and waits for its ready file. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<TestCluster> {
  const home = scratchDir();
  const readyFile = path.join(home, 'ready.json');
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--ready-file', readyFile, ...args], {
    env: { ...process.env, MCP_SCALE_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let info: ReadyInfo;
  try {
    info = await waitForReadyFile<ReadyInfo>(readyFile, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`serve did not start: ${(error as Error).message}\n${err}`);
  }
  // The banner follows the ready file by a moment.
  const bannerDeadline = Date.now() + 10_000;
  while (!out.includes('Press Ctrl+C') && Date.now() < bannerDeadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    info,
    url: info.url,
    process: child,
    home,
    readyFile,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Every pid of the cluster (workers, gateway, private Redis) is gone. */
export async function expectAllGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const alive: number[] = [];
  for (const pid of pids) if (!(await waitForExit(pid, timeoutMs))) alive.push(pid);
  return alive.filter((pid) => isProcessAlive(pid));
}

/** Re-reads the ready file until `predicate` holds (e.g. a restarted worker's new pid). */
export async function waitForReadyInfo(
  file: string,
  predicate: (info: ReadyInfo) => boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const info = JSON.parse(fs.readFileSync(file, 'utf8')) as ReadyInfo;
      if (predicate(info)) return info;
    } catch {
      // being rewritten
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('ready file never satisfied the condition');
}
