import { UserError } from '../../errors.js';
import { isLoopbackHost } from '../../util/net.js';
import type { BenchOptions, BenchTarget, KillTarget, ReadyInfo, ResponseRecord } from '../types.js';
import { KillLedger, type KillRecord } from './failover-kills.js';
import { checkKillTarget, chooseVictim, replacementOf, type Victim } from './failover-victims.js';
import { usersAt } from '../load/user-stages.js';
import { shopStep } from './mixed.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/** After the load, how long to keep watching the ready file for the last victim's replacement. */
const REPLACEMENT_GRACE_MS = 10_000;
const POLL_MS = 100;

/**
 * Kills a local worker, gateway or the Redis primary mid-run (SIGKILL, by
 * the PID the ready file names), once or every --kill-every, and counts what
 * the users felt, per kill: errors and their window, time to recover,
 * sessions kept and lost, and when the ready file named a replacement.
 * For worker kills it also counts the sessions the victim held and the ones
 * re-homed (answered afterwards by another instance, or by the restarted one
 * to a request sent after the kill, without a 404). Only PIDs from the ready
 * file of a local cluster are ever signalled.
 */
export function createFailoverScenario(options: BenchOptions, target: BenchTarget): Scenario {
  const ready = requireLocalCluster(target);
  const kind: KillTarget = options.killTarget ?? 'worker';
  checkKillTarget(ready, kind, options.killInstance);
  const current = (): ReadyInfo => {
    try {
      return target.currentReadyInfo?.() ?? ready;
    } catch {
      return ready; // being rewritten
    }
  };
  const ledger = new KillLedger();
  /** Users (vu indexes) that have had an answer. */
  const answeredUsers = new Set<number>();
  const lastInstance = new Map<string, string>();
  const affected = new Set<string>();
  const rehomed = new Set<string>();
  let firstKill: { id: string; pid: number; atMs: number } | null = null;
  let killedWorker: string | null = null;
  let lastKillAtMs = Number.POSITIVE_INFINITY;
  let errorsAfterKill = 0;
  let lastErrorAfterKillMs: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  const watchers = new Set<Promise<void>>();
  let stopped = false;
  let watchUntil = Number.POSITIVE_INFINITY;

  const watchReplacement = (kill: KillRecord, victim: Victim, context: ScenarioContext) => {
    // Without a live view of the cluster (or for a Redis nobody restarts) there is nothing to watch.
    if (!target.currentReadyInfo || (kind === 'redis' && !ready.redis?.primary)) return;
    const watcher = (async () => {
      while (Date.now() < watchUntil) {
        const replacement = replacementOf(current(), kind, victim);
        if (replacement) {
          ledger.replaced(kill, replacement.pid, context.clock());
          context.log(
            `failover: ${kind} ${victim.id} back as pid ${replacement.pid} after ${kill.replacedAfterMs} ms`,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    watchers.add(watcher);
    void watcher.finally(() => watchers.delete(watcher));
  };

  const kill = (context: ScenarioContext, n: number): void => {
    const atMs = Math.round(context.clock());
    const victim = chooseVictim(current(), kind, n, options.killInstance, context.instanceCounts());
    if (typeof victim === 'string') {
      ledger.add({ target: kind, id: options.killInstance ?? kind, pid: 0, atMs, skipped: victim });
      context.log(`failover: kill ${n} skipped: ${victim}`);
      return;
    }
    try {
      process.kill(victim.pid, 'SIGKILL');
    } catch (error) {
      const why = `pid ${victim.pid}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      ledger.add({ target: kind, id: victim.id, pid: victim.pid, atMs, skipped: why });
      context.log(`failover: kill ${n} skipped: ${why}`);
      return;
    }
    const record = ledger.add({ target: kind, id: victim.id, pid: victim.pid, atMs, skipped: null });
    lastKillAtMs = Math.min(lastKillAtMs, context.clock());
    firstKill ??= { id: victim.id, pid: victim.pid, atMs };
    if (kind === 'worker' && killedWorker === null) {
      killedWorker = victim.id;
      for (const [session, instance] of lastInstance) if (instance === victim.id) affected.add(session);
    }
    context.log(`failover: killed ${kind} ${victim.id} (pid ${victim.pid}) at ${(atMs / 1000).toFixed(1)}s`);
    watchReplacement(record, victim, context);
  };

  return {
    name: 'failover',
    // A 1 s streamed report would hide the moment of the kill; keep calls short.
    nextStep: (vu) => shopStep(vu, false),
    start: (context) => {
      const every = options.killEveryMs;
      const first = options.killAtMs ?? every ?? (context.plannedEndMs ?? 10_000) / 2;
      const end = context.plannedEndMs ?? Number.POSITIVE_INFINITY;
      // The load starts right after start(): stage times count from now.
      const users = usersBeforeFirstKill(options, first - context.clock());
      let n = 0;
      let waited = false;
      const fire = (atMs: number) => {
        if (stopped) return;
        // A failover is measured on a cluster in use: the first kill waits until every user
        // has had an answer (on a loaded machine sessions can take seconds to open). The later
        // ones keep their planned times, so the run still ends as long after the last one.
        if (n === 0 && answeredUsers.size < users) {
          if (context.clock() < end) {
            waited = true;
            timer = setTimeout(() => fire(atMs), POLL_MS);
            return;
          }
          ledger.add({
            target: kind,
            id: options.killInstance ?? kind,
            pid: 0,
            atMs: Math.round(context.clock()),
            skipped: `${answeredUsers.size} of ${users} users had an answer when the load ended`,
          });
          return;
        }
        if (n === 0 && waited)
          context.log(
            `failover: kill 1 waited ${Math.round(context.clock() - atMs)} ms for every user's first answer`,
          );
        kill(context, ++n);
        const next = atMs + (every ?? Number.POSITIVE_INFINITY);
        if (every !== undefined && next < end) schedule(next);
      };
      const schedule = (atMs: number) => {
        timer = setTimeout(() => fire(atMs), Math.max(0, atMs - context.clock()));
      };
      schedule(first);
    },
    observe: (record: ResponseRecord) => {
      ledger.observe(record);
      if (record.ok) answeredUsers.add(record.vu);
      // Session re-homes are counted around the first worker kill (as before --kill-every).
      if (record.sessionId && record.instance && record.ok) {
        if (killedWorker !== null && firstKill) {
          const sentBeforeKill = record.intendedAt < firstKill.atMs;
          // Answered by the killed worker to a request sent before the kill: the session lived
          // there, though its answer (e.g. the initialize of a session still connecting) came late.
          if (record.instance === killedWorker && sentBeforeKill) affected.add(record.sessionId);
          // Answered by another worker, or by the restarted one (same id, new process) to a request
          // sent after the kill: the session lives on somewhere the killed process is not.
          else if (affected.has(record.sessionId)) rehomed.add(record.sessionId);
        }
        lastInstance.set(record.sessionId, record.instance);
      }
      // Requests in flight at the kill count too: their users saw the failure after it.
      if (!record.ok && record.at >= lastKillAtMs) {
        errorsAfterKill += 1;
        lastErrorAfterKillMs = Math.round(record.at - lastKillAtMs);
      }
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      // Give the supervisor a moment to bring the last victim back, then stop watching.
      watchUntil = Date.now() + REPLACEMENT_GRACE_MS;
      await Promise.all([...watchers]);
    },
    summary: (metrics) => {
      const kills = ledger.result();
      const done = kills.filter((k) => k.skipped === null);
      const replaceable = kind !== 'redis' || ready.redis?.primary !== undefined;
      return {
        name: 'failover',
        kill: kind,
        killEveryMs: options.killEveryMs ?? null,
        killed: firstKill,
        kills,
        sessionsOnKilledInstance: affected.size,
        sessionsRehomed: rehomed.size,
        sessionsLost: metrics.sessions.lost,
        errorsAfterKill,
        lastErrorAfterKillMs,
        checks: [
          {
            name: `a ${kind} was killed`,
            passed: done.length > 0,
            detail: `${done.length} of ${kills.length} kills${done.length ? `: ${done.map((k) => `${k.id} pid ${k.pid}`).join(', ')}` : ''}`,
          },
          {
            name: 'no session lost',
            passed: metrics.sessions.lost === 0,
            detail:
              kind === 'worker'
                ? `${metrics.sessions.lost} lost, ${rehomed.size} of ${affected.size} re-homed`
                : `${metrics.sessions.lost} lost`,
          },
          {
            name: 'clients recovered after every kill',
            passed: done.length > 0 && done.every((k) => k.recoveredAfterMs !== null),
            detail: done
              .map(
                (k) =>
                  `${k.id}: ${k.recoveredAfterMs === null ? 'not recovered' : `${k.recoveredAfterMs} ms`}`,
              )
              .join(', '),
          },
          {
            name: `every killed ${kind} was replaced`,
            passed: replaceable && done.length > 0 && done.every((k) => k.replacedAfterMs !== null),
            detail: replaceable
              ? done
                  .map(
                    (k) => `${k.id}: ${k.replacedAfterMs === null ? 'not seen' : `${k.replacedAfterMs} ms`}`,
                  )
                  .join(', ')
              : 'a single private Redis is not restarted (serve --redis ha replaces its primary)',
          },
          {
            name: 'no errors after the kill',
            passed: errorsAfterKill === 0,
            detail: `${errorsAfterKill} errors`,
          },
        ],
      };
    },
  };
}

/**
 * How many users must have had an answer before the first kill: in the
 * closed model the users planned at that time (all of them without stages);
 * in the open model, where users come and go, one.
 */
function usersBeforeFirstKill(options: BenchOptions, atMs: number): number {
  const model = options.model;
  if (model.kind === 'open') return 1;
  return model.stages ? Math.max(1, usersAt(model.stages, atMs)) : model.clients;
}

function requireLocalCluster(target: BenchTarget): ReadyInfo {
  const ready = target.readyInfo;
  if (!ready)
    throw new UserError(
      '--scenario failover needs --spawn or --ready-file FILE of a local `mcp-scale serve`',
    );
  if (!isLoopbackHost(new URL(ready.url).hostname)) {
    throw new UserError(
      `--scenario failover only kills local processes; ${ready.url} is not on this machine`,
    );
  }
  return ready;
}
