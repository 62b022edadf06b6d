import { openLoop } from './load.js';
import { treeCpuMs } from './process-cpu.js';

/**
 * CPU per proxied call: the proxy's process tree (the gateway, or nginx's
 * master and workers) and the worker behind it, read from /proc around an
 * open loop at a fixed rate, so both proxies carry the same calls per
 * second. Rounds alternate the proxies; the ratio is taken per round.
 */
export interface ProxyTarget {
  name: string;
  url: string;
  sessions: string[];
  /** The proxy's root pid (its children are counted too). */
  pid: number;
  /** The worker behind it, when not the shared one. */
  workerPid?: number;
}

export interface ProxyCpuResult {
  /** µs of proxy CPU per call, per round. */
  proxyUsPerCall: Record<string, number[]>;
  /** µs of the worker's CPU per call through each proxy, per round. */
  workerUsPerCall: Record<string, number[]>;
  errors: number;
}

export async function measureProxyCpu(
  targets: ProxyTarget[],
  workerPid: number,
  ratePerSecond: number,
  durationMs: number,
  rounds: number,
  log: (line: string) => void,
): Promise<ProxyCpuResult> {
  const result: ProxyCpuResult = { proxyUsPerCall: {}, workerUsPerCall: {}, errors: 0 };
  const sum = (tree: Map<number, number>) => [...tree.values()].reduce((a, b) => a + b, 0);
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const proxyBefore = sum(treeCpuMs(target.pid));
      const behind = target.workerPid ?? workerPid;
      const workerBefore = sum(treeCpuMs(behind));
      const run = await openLoop(target.url, target.sessions, ratePerSecond, durationMs);
      const proxyMs = sum(treeCpuMs(target.pid)) - proxyBefore;
      const workerMs = sum(treeCpuMs(behind)) - workerBefore;
      const calls = run.sent - run.errors;
      result.errors += run.errors;
      (result.proxyUsPerCall[target.name] ??= []).push((proxyMs * 1000) / calls);
      (result.workerUsPerCall[target.name] ??= []).push((workerMs * 1000) / calls);
      log(
        `round ${round} at ${ratePerSecond}/s ${target.name.padEnd(7)} proxy ${((proxyMs * 1000) / calls).toFixed(0)} µs/call, worker ${((workerMs * 1000) / calls).toFixed(0)} µs/call${run.errors ? ` (${run.errors} errors)` : ''}`,
      );
    }
  }
  return result;
}

/**
 * Two builds of one proxy side by side: both carry the same rate at the same
 * time, so the machine's noise (other processes, frequency changes) falls on
 * both alike. Returns µs of CPU per call of each, per round.
 */
export async function compareProxyCpu(
  a: ProxyTarget,
  b: ProxyTarget,
  ratePerSecond: number,
  durationMs: number,
  rounds: number,
  log: (line: string) => void,
): Promise<{ a: number[]; b: number[]; errors: number }> {
  const result = { a: [] as number[], b: [] as number[], errors: 0 };
  const sum = (tree: Map<number, number>) => [...tree.values()].reduce((x, y) => x + y, 0);
  for (let round = 1; round <= rounds; round++) {
    const before = [sum(treeCpuMs(a.pid)), sum(treeCpuMs(b.pid))];
    const [runA, runB] = await Promise.all([
      openLoop(a.url, a.sessions, ratePerSecond, durationMs),
      openLoop(b.url, b.sessions, ratePerSecond, durationMs),
    ]);
    const usA = ((sum(treeCpuMs(a.pid)) - before[0]!) * 1000) / (runA.sent - runA.errors);
    const usB = ((sum(treeCpuMs(b.pid)) - before[1]!) * 1000) / (runB.sent - runB.errors);
    result.a.push(usA);
    result.b.push(usB);
    result.errors += runA.errors + runB.errors;
    log(
      `round ${round} side by side at ${ratePerSecond}/s each: ${a.name} ${usA.toFixed(0)} µs/call, ${b.name} ${usB.toFixed(0)} µs/call (${(usA / usB).toFixed(2)})`,
    );
  }
  return result;
}
