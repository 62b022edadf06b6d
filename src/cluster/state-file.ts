import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../util/files.js';
import { isProcessAlive } from '../util/process.js';

/**
 * A running `serve` records itself under ~/.mcp-scale/clusters/<pid>.json
 * (MCP_SCALE_HOME overrides the folder), so admin commands can find its
 * Redis, even a private one, without flags. Removed on exit.
 */
export interface ClusterState {
  pid: number;
  url: string;
  redis: { mode: string; url?: string };
  prefix: string;
  startedAt: string;
  readyFile?: string;
  /** A private redis-server this supervisor started: stopped by the next run if the supervisor was killed. */
  privateRedisPid?: number;
  /** Every private Redis process (`--redis ha`: primary, replica, sentinels), reaped the same way. */
  privateRedisPids?: number[];
  /** Their folder (sentinel config files), removed when they are reaped. */
  privateRedisDir?: string;
}

export function stateHome(env = process.env): string {
  return env.MCP_SCALE_HOME ?? path.join(os.homedir(), '.mcp-scale');
}

function clustersDir(env = process.env): string {
  return path.join(stateHome(env), 'clusters');
}

export function writeClusterState(state: ClusterState, env = process.env): string {
  const dir = clustersDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${state.pid}.json`);
  // It may hold a Redis password: readable by this user only (writeJsonAtomic's 0600).
  writeJsonAtomic(file, state);
  return file;
}

export function removeClusterState(file: string): void {
  fs.rmSync(file, { force: true });
}

/** The most recently started cluster whose supervisor is still alive. */
export function findRunningCluster(env = process.env): ClusterState | undefined {
  const dir = clustersDir(env);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return undefined;
  }
  const alive: ClusterState[] = [];
  for (const name of names) {
    try {
      const state = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as ClusterState;
      if (isProcessAlive(state.pid)) alive.push(state);
      else reapAbandoned(state, path.join(dir, name));
    } catch {
      // unreadable: ignore
    }
  }
  return alive.sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
}

/**
 * A supervisor killed with SIGKILL cannot stop its children. Its workers and
 * gateway exit by themselves (their IPC channel closes), but a private
 * redis-server would linger: stop it, if that pid is still a redis-server.
 */
function reapAbandoned(state: ClusterState, file: string): void {
  const pids = new Set([
    ...(state.privateRedisPid ? [state.privateRedisPid] : []),
    ...(state.privateRedisPids ?? []),
  ]);
  for (const pid of pids) {
    if (!isProcessAlive(pid)) continue;
    let command = '';
    try {
      command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // not Linux, or gone: leave it
    }
    // Sentinels run as `redis-server … [sentinel]` too.
    if (command.includes('redis-server')) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  // Only a folder serve created for this purpose (a mkdtemp under the temp dir).
  if (state.privateRedisDir && path.basename(state.privateRedisDir).startsWith('mcp-scale-ha-'))
    fs.rmSync(state.privateRedisDir, { recursive: true, force: true });
  fs.rmSync(file, { force: true });
}
