import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { callGetProduct, openSessions } from './load.js';
import type { RoleProcess } from './fixtures.js';

/**
 * Re-home time: sessions owned by a worker that is then killed with
 * SIGKILL; each session's first request afterwards pays for detecting the
 * death and replaying the session elsewhere. Reported as that request's
 * latency minus the median latency of the same request before the kill.
 */
export async function measureRehome(gatewayUrl: string, victim: RoleProcess, sessionsWanted: number) {
  // It starts no process (the caller owns the victim and the gateway), only this pool.
  const pool = new Pool(new URL(gatewayUrl).origin, { connections: 16 });
  try {
    return await timeRehome(pool, gatewayUrl, victim, sessionsWanted);
  } finally {
    await pool.close();
  }
}

async function timeRehome(pool: Pool, gatewayUrl: string, victim: RoleProcess, sessionsWanted: number) {
  const path = new URL(gatewayUrl).pathname;
  const call = (session: string, id: number) => callGetProduct(pool, path, session, id);
  // Sessions spread over the workers; keep those on the victim.
  const onVictim: string[] = [];
  for (let tries = 0; onVictim.length < sessionsWanted && tries < sessionsWanted * 6; tries++) {
    const [id] = await openSessions(gatewayUrl, 1);
    const { instance } = await call(id!, 1);
    if (instance === victim.child.spec.name) onVictim.push(id!);
  }
  const baseline: number[] = [];
  for (const id of onVictim) baseline.push((await call(id, 2)).ms);
  baseline.sort((a, b) => a - b);
  const baselineMedian = baseline[Math.floor(baseline.length / 2)] ?? 0;

  process.kill(victim.child.pid!, 'SIGKILL');
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let failures = 0;
  // A few at a time, as clients would trickle back.
  for (let i = 0; i < onVictim.length; i += 8) {
    await Promise.all(
      onVictim.slice(i, i + 8).map(async (id) => {
        try {
          const { ms } = await call(id, 3);
          histogram.recordValue(Math.max(1, Math.round(Math.max(0, ms - baselineMedian) * 1000)));
        } catch {
          failures++;
        }
      }),
    );
  }
  const ms = (q: number) => histogram.getValueAtPercentile(q) / 1000;
  const result = {
    sessions: onVictim.length,
    failures,
    baselineMs: baselineMedian,
    p50: ms(50),
    p99: ms(99),
    max: histogram.maxValue / 1000,
  };
  histogram.destroy();
  return result;
}
