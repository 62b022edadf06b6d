import type { ReadyInfo } from './target-process.js';

/**
 * How many MCP requests each instance of a target handled while the suite
 * ran, read from the instances' own /metrics (served to loopback peers).
 * A scaled target passing the suite means something only if the suite's
 * sessions were spread over its instances: one that sent everything to a
 * single worker would pass for the wrong reason.
 */
export interface InstanceRef {
  id: string;
  /** The instance's MCP endpoint; /metrics is on the same origin. */
  url: string;
}

const REQUESTS_METRIC = 'mcp_scale_worker_requests_total';

/** `serve` lists its instances; a lone `worker` is its own single instance. */
export function instancesOf(ready: ReadyInfo): InstanceRef[] {
  if (ready.instances && ready.instances.length > 0) {
    return ready.instances.map((i) => ({ id: i.id, url: i.url ?? `http://127.0.0.1:${i.port}/mcp` }));
  }
  return [{ id: ready.id ?? 'direct', url: ready.url }];
}

/** Requests served so far per instance; undefined where /metrics does not answer (e.g. --server-cmd). */
export async function readRequestCounts(
  instances: readonly InstanceRef[],
): Promise<Record<string, number | undefined>> {
  const read = await Promise.all(
    instances.map((instance) =>
      fetch(new URL('/metrics', instance.url), { signal: AbortSignal.timeout(5000) })
        .then(async (response) =>
          response.ok ? sumMetric(await response.text(), REQUESTS_METRIC) : undefined,
        )
        .catch(() => undefined),
    ),
  );
  const counts: Record<string, number | undefined> = {};
  instances.forEach((instance, index) => (counts[instance.id] = read[index]));
  return counts;
}

/** Per instance, what `after` counted beyond `before`; instances unread either time are left out. */
export function requestsBetween(
  before: Record<string, number | undefined>,
  after: Record<string, number | undefined>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [id, end] of Object.entries(after)) {
    const start = before[id];
    // A restarted instance starts counting again from zero.
    if (end !== undefined && start !== undefined) delta[id] = end >= start ? end - start : end;
  }
  return delta;
}

/** Why the load does not show a spread over `expected` instances, or undefined when it does. */
export function spreadProblem(load: Record<string, number>, expected: number): string | undefined {
  const read = Object.keys(load).length;
  if (read < expected) return `only ${read} of ${expected} instances answered /metrics`;
  const idle = Object.entries(load)
    .filter(([, count]) => count === 0)
    .map(([id]) => id);
  return idle.length > 0
    ? `the suite never reached ${idle.join(', ')} (requests: ${formatLoad(load)})`
    : undefined;
}

export function formatLoad(load: Record<string, number>): string {
  return Object.entries(load)
    .map(([id, count]) => `${id} ${count}`)
    .join(', ');
}

/** Sum of every sample of a Prometheus counter in a text exposition. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}
