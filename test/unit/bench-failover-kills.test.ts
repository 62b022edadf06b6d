import { describe, expect, it } from 'vitest';
import { KillLedger } from '../../src/bench/scenarios/failover-kills.js';
import { chooseVictim, replacementOf, tierOf } from '../../src/bench/scenarios/failover-victims.js';
import type { ReadyInfo, ResponseRecord } from '../../src/bench/types.js';

function rec(
  at: number,
  intendedAt: number,
  sessionId: string,
  ok = true,
  extra: Partial<ResponseRecord> = {},
) {
  return {
    at,
    intendedAt,
    latencyMs: at - intendedAt,
    era: '2025',
    vu: 0,
    method: 'tools/call',
    ok,
    sessionId,
    ...(ok ? {} : { errorKind: 'network' }),
    ...extra,
  } satisfies ResponseRecord;
}

describe('failover kills: what each kill did to the clients', () => {
  it('counts errors, their window, recovery and sessions kept or lost per kill window', () => {
    const ledger = new KillLedger();
    ledger.observe(rec(10, 5, 's1'));
    ledger.observe(rec(12, 6, 's2'));
    ledger.observe(rec(14, 7, 's3'));
    const first = ledger.add({ target: 'gateway', id: 'g1', pid: 11, atMs: 100, skipped: null });
    ledger.observe(rec(105, 90, 's1', false)); // in flight at the kill: counts for it
    ledger.observe(rec(130, 120, 's2', false));
    ledger.observe(rec(140, 135, 's1')); // first answer after the last error
    ledger.observe(rec(150, 145, 's2'));
    ledger.observe(rec(160, 155, 's3', false, { status: 404, sessionLost: true, errorKind: 'http_404' }));
    ledger.replaced(first, 21, 180);
    // Nothing to kill at 200: its time stays with the first kill.
    ledger.add({ target: 'gateway', id: 'gateway', pid: 0, atMs: 200, skipped: 'no live gateway to kill' });
    ledger.observe(rec(210, 205, 's1'));
    ledger.add({ target: 'gateway', id: 'g2', pid: 12, atMs: 300, skipped: null });
    ledger.observe(rec(305, 290, 's1', false));
    ledger.observe(rec(310, 300, 's2', false)); // and nothing answered after it

    const [a, b, c] = ledger.result();
    expect(a).toMatchObject({
      n: 1,
      errors: 3,
      errorWindow: { firstMs: 5, lastMs: 60 },
      errorsByKind: { network: 2, http_404: 1 },
      // The 404 at +60 was the window's last error; s1's answer at +110 (after the skipped kill) came next.
      recoveredAfterMs: 110,
      sessionsActive: 3,
      sessionsKept: 2,
      sessionsLost: 1,
      sessionsNotSeenAgain: 0,
      replacedAfterMs: 80,
      replacedByPid: 21,
    });
    expect(b).toMatchObject({ n: 2, skipped: 'no live gateway to kill', errors: 0, recoveredAfterMs: null });
    // s3 was lost before the third kill: only s1 and s2 were active.
    expect(c).toMatchObject({
      n: 3,
      errors: 2,
      sessionsActive: 2,
      sessionsKept: 0,
      // The run ended before either was answered again: neither kept nor lost, and said so.
      sessionsNotSeenAgain: 2,
      recoveredAfterMs: null,
      replacedAfterMs: null,
    });
  });

  it('a kill no client noticed recovered at once', () => {
    const ledger = new KillLedger();
    ledger.observe(rec(10, 5, 's1'));
    ledger.add({ target: 'worker', id: 'w1', pid: 1, atMs: 100, skipped: null });
    ledger.observe(rec(120, 110, 's1'));
    expect(ledger.result()[0]).toMatchObject({
      errors: 0,
      errorWindow: null,
      recoveredAfterMs: 0,
      sessionsKept: 1,
    });
  });

  it('keeps a session for a kill when its answer after that kill completes after the next one', () => {
    const ledger = new KillLedger();
    ledger.observe(rec(10, 5, 's1'));
    ledger.observe(rec(12, 6, 's2'));
    ledger.add({ target: 'gateway', id: 'g1', pid: 1, atMs: 100, skipped: null });
    ledger.observe(rec(150, 140, 's1'));
    ledger.add({ target: 'gateway', id: 'g2', pid: 2, atMs: 200, skipped: null });
    // Sent after the first kill, answered after the second (a slow call on a loaded machine).
    ledger.observe(rec(230, 190, 's2'));
    // Sent after the second: keeps s1 for both kills.
    ledger.observe(rec(260, 250, 's1'));
    const [first, second] = ledger.result();
    expect(first).toMatchObject({ sessionsActive: 2, sessionsKept: 2, sessionsNotSeenAgain: 0 });
    // s2's answer was to a request sent before the second kill: it says nothing about that kill.
    expect(second).toMatchObject({ sessionsActive: 2, sessionsKept: 1, sessionsNotSeenAgain: 1 });
  });

  it('recovery is the first answer after the last error', () => {
    const ledger = new KillLedger();
    ledger.add({ target: 'worker', id: 'w1', pid: 1, atMs: 100, skipped: null });
    ledger.observe(rec(110, 100, 's1', false));
    ledger.observe(rec(150, 140, 's1'));
    ledger.observe(rec(170, 160, 's1', false));
    ledger.observe(rec(400, 390, 's1'));
    ledger.observe(rec(500, 490, 's1'));
    expect(ledger.result()[0]).toMatchObject({
      errors: 2,
      errorWindow: { firstMs: 10, lastMs: 70 },
      recoveredAfterMs: 300,
    });
  });
});

describe('failover victims: named by the ready file only', () => {
  const self = process.pid;
  const info: ReadyInfo = {
    url: 'http://127.0.0.1:1/mcp',
    instances: [
      { id: 'w1', pid: self, port: 1 },
      { id: 'w2', pid: self, port: 2 },
    ],
    gateways: [
      { id: 'g1', pid: 2 ** 22 + 1, port: 3 }, // no such process
      { id: 'g2', pid: self, port: 4 },
    ],
    redis: { mode: 'private', pid: self },
  };

  it('takes gateways in turn, never one that is not running nor the last live one', () => {
    const three = { ...info, gateways: [...info.gateways!, { id: 'g3', pid: self, port: 5 }] };
    expect(chooseVictim(three, 'gateway', 2, undefined, {})).toEqual({ id: 'g2', pid: self });
    expect(chooseVictim(three, 'gateway', 3, undefined, {})).toEqual({ id: 'g3', pid: self });
    // g1 is down: its turn goes to the next live one.
    expect(chooseVictim(three, 'gateway', 1, undefined, {})).toEqual({ id: 'g2', pid: self });
    expect(chooseVictim(three, 'gateway', 1, 'g1', {})).toMatch(/g1 is not running/);
    // With g1 down, g2 is the last live gateway of two: killing it would be an outage.
    expect(chooseVictim(info, 'gateway', 2, undefined, {})).toMatch(/g2 is the last live gateway/);
    // A tier of one is the user's own experiment (a single point of failure): allowed.
    expect(chooseVictim({ ...info, gateways: [info.gateways![1]!] }, 'gateway', 1, undefined, {})).toEqual({
      id: 'g2',
      pid: self,
    });
  });

  it('the busiest worker, and the Redis primary before a private pid', () => {
    expect(chooseVictim(info, 'worker', 1, undefined, { w1: 3, w2: 9 })).toEqual({ id: 'w2', pid: self });
    expect(tierOf(info, 'redis')).toEqual([{ id: 'redis', pid: self }]);
    expect(tierOf({ ...info, redis: { mode: 'ha', primary: { pid: 7, port: 5 } } }, 'redis')).toEqual([
      { id: 'redis', pid: 7 },
    ]);
  });

  it('never kills a Redis primary whose replica is not running (an outage, not a failover)', () => {
    const ha = (replicaPid: number): ReadyInfo => ({
      ...info,
      redis: { mode: 'ha', primary: { pid: self, port: 5 }, replica: { pid: replicaPid, port: 6 } },
    });
    expect(chooseVictim(ha(self), 'redis', 1, undefined, {})).toEqual({ id: 'redis', pid: self });
    expect(chooseVictim(ha(2 ** 22 + 1), 'redis', 2, undefined, {})).toBe(
      `the Redis replica (pid ${2 ** 22 + 1}) is not running: killing the primary would be an outage, not a failover`,
    );
  });

  it('a replacement is a new live pid under the same id', () => {
    expect(replacementOf(info, 'gateway', { id: 'g2', pid: 5 })).toEqual({ id: 'g2', pid: self });
    expect(replacementOf(info, 'gateway', { id: 'g2', pid: self })).toBeUndefined();
    expect(replacementOf(info, 'gateway', { id: 'g1', pid: 5 })).toBeUndefined();
  });
});
