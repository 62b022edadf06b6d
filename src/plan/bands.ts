import type { Band } from './types.js';

/**
 * The common sizing guide for MCP deployments, by peak concurrent users.
 * These are rules of thumb, not measurements: `plan --from-report` replaces
 * the worker count with one computed from a benchmark of the user's server.
 */
export const BANDS: readonly Band[] = [
  {
    id: 'single',
    minUsers: 1,
    maxUsers: 9,
    label: 'under 10 users',
    summary: 'one instance, no load balancer',
  },
  {
    id: 'small',
    minUsers: 10,
    maxUsers: 100,
    label: '10-100 users',
    summary: '2-3 instances, affinity, Redis for rate limits',
  },
  {
    id: 'medium',
    minUsers: 101,
    maxUsers: 1000,
    label: '101-1000 users',
    summary: '5-10 instances, Redis session store, tool cache, a dedicated limiting layer',
  },
  {
    id: 'large',
    minUsers: 1001,
    maxUsers: null,
    label: 'over 1000 users',
    summary: 'Kubernetes with autoscaling, Redis Cluster, an API gateway',
  },
];

/** Instance range the guide gives for the bounded bands. */
const WORKER_RANGE: Record<'single' | 'small' | 'medium', readonly [number, number]> = {
  single: [1, 1],
  small: [2, 3],
  medium: [5, 10],
};

/**
 * Above 1000 users the guide gives no range, only "autoscale". Continue from
 * where the 101-1000 band ends (10 instances for 1000 users): 100 users per
 * instance.
 */
export const LARGE_BAND_USERS_PER_WORKER = 100;

export function bandFor(users: number): Band {
  const band = BANDS.find(
    (candidate) =>
      users >= candidate.minUsers && (candidate.maxUsers === null || users <= candidate.maxUsers),
  );
  if (!band) throw new RangeError(`no band for ${users} users`);
  return band;
}

/**
 * Worker count inside a band. Bounded bands interpolate linearly from the
 * band's low end (at its first user count) to its high end (at its last):
 *   workers = low + round((high - low) x (users - first) / (last - first))
 * The large band uses ceil(users / 100).
 */
export function bandWorkers(band: Band, users: number): { workers: number; formula: string } {
  if (band.id === 'large' || band.maxUsers === null) {
    const workers = Math.ceil(users / LARGE_BAND_USERS_PER_WORKER);
    return {
      workers,
      formula: `ceil(${users} / ${LARGE_BAND_USERS_PER_WORKER} users per worker) = ${workers}`,
    };
  }
  const [low, high] = WORKER_RANGE[band.id];
  if (low === high) return { workers: low, formula: `${low} (the band's fixed count)` };
  const fraction = (users - band.minUsers) / (band.maxUsers - band.minUsers);
  const workers = low + Math.round((high - low) * fraction);
  return {
    workers,
    formula:
      `${low} + round(${high - low} x (${users} - ${band.minUsers}) / ` +
      `(${band.maxUsers} - ${band.minUsers})) = ${workers}`,
  };
}
