import { UserError } from '../../errors.js';
import { isProcessAlive } from '../../util/process.js';
import type { KillTarget, ReadyInfo } from '../types.js';

/**
 * Which process a failover kill hits, named only by the ready file of a
 * local cluster: a worker, a gateway, or the Redis primary that cluster
 * started (the private redis-server, or the current primary of `--redis ha`).
 */
export interface Victim {
  id: string;
  pid: number;
}

/** The processes of a tier, as the ready file names them now. */
export function tierOf(info: ReadyInfo, target: KillTarget): Victim[] {
  if (target === 'worker') return info.instances.map(({ id, pid }) => ({ id, pid }));
  if (target === 'gateway') return (info.gateways ?? []).map(({ id, pid }) => ({ id, pid }));
  const pid = info.redis?.primary?.pid ?? info.redis?.pid;
  return pid ? [{ id: 'redis', pid }] : [];
}

/** One-line refusals, before the load starts. */
export function checkKillTarget(info: ReadyInfo, target: KillTarget, killInstance: string | undefined): void {
  const tier = tierOf(info, target);
  if (target === 'worker' && tier.length < 2) {
    throw new UserError(`--scenario failover needs at least 2 workers; the ready file lists ${tier.length}`);
  }
  if (target === 'gateway' && tier.length === 0) {
    throw new UserError(
      '--kill gateway needs the ready file of `mcp-scale serve` listing its gateways (serve --gateways N)',
    );
  }
  if (target === 'redis' && tier.length === 0) {
    throw new UserError(
      `--kill redis needs a Redis that serve started (private or --redis ha); the ready file names no Redis pid (mode ${info.redis?.mode ?? 'unknown'})`,
    );
  }
  if (killInstance && !tier.some((victim) => victim.id === killInstance)) {
    throw new UserError(
      `--kill-instance ${killInstance} is not a ${target} in the ready file (${tier.map((v) => v.id).join(', ')})`,
    );
  }
}

/**
 * The victim of kill number `n` (1-based): the named one, else for workers
 * the busiest, for gateways each in turn; always a live process, and never
 * the last live one of a tier of several. A string says why nothing can be
 * killed now.
 */
export function chooseVictim(
  info: ReadyInfo,
  target: KillTarget,
  n: number,
  killInstance: string | undefined,
  counts: Record<string, number>,
): Victim | string {
  const tier = tierOf(info, target);
  const live = (victim: Victim) => victim.pid > 0 && isProcessAlive(victim.pid);
  let victim: Victim | undefined;
  if (killInstance) {
    victim = tier.find((candidate) => candidate.id === killInstance);
    if (!victim || !live(victim)) return `${target} ${killInstance} is not running (not restarted yet?)`;
  } else {
    const ordered =
      target === 'worker'
        ? [...tier].sort((a, b) => (counts[b.id] ?? 0) - (counts[a.id] ?? 0))
        : tier.map((_, i) => tier[(n - 1 + i) % tier.length]!);
    victim = ordered.find(live);
    if (!victim)
      return `no live ${target} to kill (${tier.map((v) => `${v.id} pid ${v.pid}`).join(', ') || 'none listed'})`;
  }
  // The ready file names a restarted process once it serves: until then, the
  // others are down and this kill would measure an outage, not a failover.
  const chosen = victim;
  // Likewise a Sentinel-managed primary whose replica is not running (serve does not
  // restart a dead Redis: after one failover the old primary stays down).
  const replica = target === 'redis' ? info.redis?.replica : undefined;
  if (replica && !(replica.pid > 0 && isProcessAlive(replica.pid)))
    return `the Redis replica (pid ${replica.pid}) is not running: killing the primary would be an outage, not a failover`;
  if (tier.length > 1 && !tier.some((other) => other.id !== chosen.id && live(other)))
    return `${chosen.id} is the last live ${target}; the others are not back yet`;
  return chosen;
}

/** The process now in the victim's place, if the ready file names a new live one. */
export function replacementOf(info: ReadyInfo, target: KillTarget, victim: Victim): Victim | undefined {
  const now = tierOf(info, target).find((candidate) => candidate.id === victim.id);
  return now && now.pid > 0 && now.pid !== victim.pid && isProcessAlive(now.pid) ? now : undefined;
}
