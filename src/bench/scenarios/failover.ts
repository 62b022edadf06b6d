import { UserError } from '../../errors.js';
import { isProcessAlive } from '../../util/process.js';
import { isLoopbackHost } from '../../util/net.js';
import type { BenchOptions, BenchTarget, ReadyInfo, ResponseRecord } from '../types.js';
import { shopStep } from './mixed.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/**
 * Kills one local worker mid-run (SIGKILL, by the PID the ready file names)
 * and counts what its users felt: sessions lost (404s), sessions re-homed
 * (answered afterwards by another instance, or by the restarted one to a
 * request sent after the kill, without a 404), errors after the kill and how
 * long they went on. Only PIDs from the ready file of a local
 * cluster are ever signalled.
 */
export function createFailoverScenario(options: BenchOptions, target: BenchTarget): Scenario {
  const ready = requireLocalCluster(target);
  if (options.killInstance && !ready.instances.some((instance) => instance.id === options.killInstance)) {
    throw new UserError(
      `--kill-instance ${options.killInstance} is not in the ready file (${ready.instances.map((i) => i.id).join(', ')})`,
    );
  }
  const lastInstance = new Map<string, string>();
  const affected = new Set<string>();
  const rehomed = new Set<string>();
  let killed: { id: string; pid: number; atMs: number } | null = null;
  let killedAtMs = Number.POSITIVE_INFINITY;
  let errorsAfterKill = 0;
  let lastErrorAfterKillMs: number | null = null;
  let timer: NodeJS.Timeout | undefined;

  const kill = (context: ScenarioContext): void => {
    const counts = context.instanceCounts();
    const victim =
      ready.instances.find((instance) => instance.id === options.killInstance) ??
      [...ready.instances].sort((a, b) => (counts[b.id] ?? 0) - (counts[a.id] ?? 0))[0];
    if (!victim) return;
    if (!isProcessAlive(victim.pid)) {
      context.log(`failover: worker ${victim.id} (pid ${victim.pid}) is not running; nothing killed`);
      return;
    }
    process.kill(victim.pid, 'SIGKILL');
    killedAtMs = context.clock();
    killed = { id: victim.id, pid: victim.pid, atMs: Math.round(killedAtMs) };
    for (const [session, instance] of lastInstance) if (instance === victim.id) affected.add(session);
    context.log(
      `failover: killed worker ${victim.id} (pid ${victim.pid}) at ${(killed.atMs / 1000).toFixed(1)}s`,
    );
  };

  return {
    name: 'failover',
    // A 1 s streamed report would hide the moment of the kill; keep calls short.
    nextStep: (vu) => shopStep(vu, false),
    start: (context) => {
      const killAt = options.killAtMs ?? (context.plannedEndMs ?? 10_000) / 2;
      timer = setTimeout(() => kill(context), Math.max(0, killAt - context.clock()));
    },
    observe: (record: ResponseRecord) => {
      if (record.sessionId && record.instance && record.ok) {
        if (killed) {
          const sentBeforeKill = record.intendedAt < killedAtMs;
          // Answered by the killed worker to a request sent before the kill: the session lived
          // there, though its answer (e.g. the initialize of a session still connecting) came late.
          if (record.instance === killed.id && sentBeforeKill) affected.add(record.sessionId);
          // Answered by another worker, or by the restarted one (same id, new process) to a request
          // sent after the kill: the session lives on somewhere the killed process is not.
          else if (affected.has(record.sessionId)) rehomed.add(record.sessionId);
        }
        lastInstance.set(record.sessionId, record.instance);
      }
      // Requests in flight at the kill count too: their users saw the failure after it.
      if (killed && !record.ok && record.at >= killedAtMs) {
        errorsAfterKill += 1;
        lastErrorAfterKillMs = Math.round(record.at - killedAtMs);
      }
    },
    stop: () => clearTimeout(timer),
    summary: (metrics) => ({
      name: 'failover',
      killed,
      sessionsOnKilledInstance: affected.size,
      sessionsRehomed: rehomed.size,
      sessionsLost: metrics.sessions.lost,
      errorsAfterKill,
      lastErrorAfterKillMs,
      checks: [
        { name: 'a worker was killed', passed: killed !== null, detail: killed ? `${killed.id}` : 'none' },
        {
          name: 'no session lost',
          passed: metrics.sessions.lost === 0,
          detail: `${metrics.sessions.lost} lost, ${rehomed.size} of ${affected.size} re-homed`,
        },
        {
          name: 'no errors after the kill',
          passed: errorsAfterKill === 0,
          detail: `${errorsAfterKill} errors`,
        },
      ],
    }),
  };
}

function requireLocalCluster(target: BenchTarget): ReadyInfo {
  const ready = target.readyInfo;
  if (!ready)
    throw new UserError(
      '--scenario failover needs --spawn or --ready-file FILE of a local `mcp-scale serve`',
    );
  if (ready.instances.length < 2) {
    throw new UserError(
      `--scenario failover needs at least 2 workers; the ready file lists ${ready.instances.length}`,
    );
  }
  if (!isLoopbackHost(new URL(ready.url).hostname)) {
    throw new UserError(`--scenario failover only kills local workers; ${ready.url} is not on this machine`);
  }
  return ready;
}
