import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * CPU time of a process tree from /proc (Linux): what a cluster spent on a
 * workload, a measure a loaded machine disturbs far less than throughput.
 */

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU milliseconds (user + system) of `root` and all its descendants, by pid. */
export function treeCpuMs(root: number): Map<number, number> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at state.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
    } catch {
      // exited while we looked
    }
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at && at > 1; at = parent.get(at)) if (at === root) return true;
    return false;
  };
  return new Map([...cpu].filter(([pid]) => inTree(pid)));
}

export interface CpuSplit {
  total: number;
  gateway: number;
  workers: number;
}

export function cpuDelta(
  before: Map<number, number>,
  after: Map<number, number>,
  readyFile: string,
): CpuSplit {
  const info = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as {
    gateway: { pid: number };
    instances: { pid: number }[];
  };
  const workers = new Set(info.instances.map((worker) => worker.pid));
  const split: CpuSplit = { total: 0, gateway: 0, workers: 0 };
  for (const [pid, ms] of after) {
    const used = ms - (before.get(pid) ?? 0);
    split.total += used;
    if (pid === info.gateway.pid) split.gateway += used;
    if (workers.has(pid)) split.workers += used;
  }
  return split;
}
