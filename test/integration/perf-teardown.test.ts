import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runLimitsCost } from '../../scripts/perf/limits-cost.js';
import { Teardown } from '../../scripts/perf/teardown.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * A perf script interrupted while it starts its cluster leaves nothing
 * running. No test runs a script from dist-dev/ (nothing builds it before
 * the tests), so this runs limits-cost.ts (the cheapest that starts a
 * private redis-server, then a worker and two gateways) in this process,
 * wired as its entry point wires it, and sends this process a real SIGINT.
 */

/** This process's children now, from /proc: pid -> command name. */
function children(): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces or parentheses, so read after the last ')'.
    const end = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(end + 2).split(' ')[1]);
    if (ppid === process.pid) found.set(Number(entry), stat.slice(stat.indexOf('(') + 1, end));
  }
  return found;
}

describe('perf scripts stop what they started', () => {
  it('limits-cost on SIGINT while it starts its roles: exits 130, its redis-server and roles are gone', async () => {
    const before = new Set(children().keys());
    const teardown = new Teardown();
    let off = () => {};
    const exitCode = new Promise<number>((resolve) => (off = teardown.onSignals(resolve)));
    try {
      const script = runLimitsCost(['--rounds', '3', '--seconds', '1', '--json'], teardown);
      const outcome = script.then(
        () => 'finished',
        () => 'failed',
      );
      const started = new Map<number, string>();
      // Readiness: its private redis-server and its first role (a node process) are running.
      await waitUntil(
        () => {
          for (const [pid, name] of children()) if (!before.has(pid)) started.set(pid, name);
          const names = [...started.values()];
          return names.includes('redis-server') && names.some((name) => name !== 'redis-server');
        },
        'a redis-server and a role started by limits-cost',
        30_000,
      );
      for (const pid of started.keys()) expect(fs.existsSync(`/proc/${pid}`)).toBe(true);

      process.kill(process.pid, 'SIGINT');
      expect(await exitCode).toBe(130);
      // It was interrupted (nothing more started after the signal), not finished.
      expect(await outcome).toBe('failed');
      for (const [pid, name] of started)
        expect(fs.existsSync(`/proc/${pid}`), `${name} (pid ${pid}) still running`).toBe(false);
      const left = [...children()].filter(([pid]) => !before.has(pid));
      expect(left).toEqual([]);
    } finally {
      off();
      await teardown.run();
    }
  });
});
