import type { ReadyInfo } from '../../src/cluster/supervisor.js';

/**
 * The server side's own counts, for checking what a bench reports against a
 * real cluster: Prometheus counters scraped from the gateway's and every
 * worker's /metrics (served to loopback clients), before and after a run.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes: no timestamps, no exemplars). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unexpected metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of a metric's samples whose labels match every given label (a predicate for "not equal"). */
export function total(
  samples: readonly Sample[],
  name: string,
  match: Record<string, string | ((value: string) => boolean)> = {},
): number {
  let sum = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const matches = Object.entries(match).every(([key, want]) => {
      const value = sample.labels[key] ?? '';
      return typeof want === 'function' ? want(value) : value === want;
    });
    if (matches) sum += sample.value;
  }
  return sum;
}

/** One scrape of the gateway and of every worker (by id), taken together. */
export interface ClusterScrape {
  gateway: Sample[];
  workers: Record<string, Sample[]>;
}

async function scrapeUrl(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return parseSamples(await response.text());
}

export async function scrapeCluster(info: ReadyInfo): Promise<ClusterScrape> {
  const [gateway, ...workers] = await Promise.all([
    scrapeUrl(`http://127.0.0.1:${info.gateway.port}/metrics`),
    ...info.instances.map((instance) => scrapeUrl(`http://127.0.0.1:${instance.port}/metrics`)),
  ]);
  return {
    gateway: gateway,
    workers: Object.fromEntries(info.instances.map((instance, i) => [instance.id, workers[i]!])),
  };
}

/** after − before of one counter (summed over matching label sets). */
export function delta(
  before: readonly Sample[],
  after: readonly Sample[],
  name: string,
  match: Record<string, string | ((value: string) => boolean)> = {},
): number {
  return total(after, name, match) - total(before, name, match);
}

/** The same delta on every worker, by worker id. */
export function workerDeltas(
  before: ClusterScrape,
  after: ClusterScrape,
  name: string,
  match: Record<string, string | ((value: string) => boolean)> = {},
): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after.workers).map((id) => [
      id,
      delta(before.workers[id] ?? [], after.workers[id] ?? [], name, match),
    ]),
  );
}

/**
 * A fresh gateway learns the tool catalog by talking MCP to one worker
 * (initialize, notifications/initialized, tools/list, DELETE: see
 * src/gateway/tool-catalog.ts) right after it starts, possibly after the
 * ready file is written. Waits until those 4 exchanges were counted, so a
 * baseline taken afterwards does not catch half of them.
 */
export async function waitForCatalogFetch(info: ReadyInfo, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let served = 0;
  while (Date.now() < deadline) {
    const scrape = await scrapeCluster(info);
    served = Object.values(scrape.workers).reduce(
      (sum, samples) => sum + total(samples, 'mcp_scale_worker_requests_total'),
      0,
    );
    if (served >= 4) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the gateway's catalog fetch did not reach the workers (${served} of 4 requests)`);
}
