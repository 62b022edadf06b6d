import type { ClusterConfig } from '../../config/cluster-config.js';
import { UserError } from '../../errors.js';
import { GATEWAY_PORT, WORKER_PORT } from '../proxy-model.js';

/**
 * What `gen prometheus` and `gen grafana` need: where the gateways and
 * workers are (static targets, default the compose service names, or
 * Kubernetes pod discovery by the labels `gen k8s` puts on its pods), how
 * often to scrape, and the alert thresholds.
 */
export interface MonitoringOptions {
  discovery: 'static' | 'kubernetes';
  gatewayTargets: string[];
  workerTargets: string[];
  scrapeIntervalS: number;
  /** How long a gateway or worker must be down before its alert fires. */
  alertForS: number;
  /** 429s over all requests, 0..1. */
  alert429Ratio: number;
  alertP99S: number;
  /** Re-homes per second, cluster-wide. */
  alertRehomeRate: number;
  /** Live sessions per worker at which "near the cap" fires (at 90 %). */
  alertSessionsCap: number;
  /** Bearer token file Prometheus sends (gateways and workers answer /metrics only to loopback otherwise). */
  metricsTokenFile?: string;
}

const TARGET = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function monitoringOptions(config: ClusterConfig): MonitoringOptions {
  const gen = config.gen ?? {};
  const options: MonitoringOptions = {
    discovery: gen.discovery ?? 'static',
    gatewayTargets:
      gen.gatewayTarget ??
      Array.from({ length: config.gateways }, (_, i) => `gateway-${i + 1}:${GATEWAY_PORT}`),
    workerTargets:
      gen.workerTarget ??
      Array.from({ length: config.instances }, (_, i) => `worker-${i + 1}:${WORKER_PORT}`),
    scrapeIntervalS: wholeSeconds(gen.scrapeIntervalMs ?? 15_000, '--scrape-interval'),
    alertForS: wholeSeconds(gen.alertForMs ?? 120_000, '--alert-for'),
    alert429Ratio: gen.alert429Ratio ?? 0.05,
    alertP99S: (gen.alertP99Ms ?? 2000) / 1000,
    alertRehomeRate: gen.alertRehomeRate ?? 1,
    alertSessionsCap: gen.alertSessionsCap ?? 10_000,
    metricsTokenFile: gen.metricsTokenFile,
  };
  for (const target of [...options.gatewayTargets, ...options.workerTargets]) {
    const port = Number(TARGET.exec(target)?.[2]);
    if (!(port >= 1 && port <= 65535)) {
      throw new UserError(`invalid scrape target '${target}': use HOST:PORT, e.g. 10.0.0.5:3000`);
    }
  }
  if (!(options.alert429Ratio > 0 && options.alert429Ratio < 1)) {
    throw new UserError(`--alert-rate-limited-ratio must be between 0 and 1, got ${options.alert429Ratio}`);
  }
  if (!(options.alertRehomeRate > 0)) throw new UserError('--alert-rehome-rate must be above 0');
  if (!(Number.isInteger(options.alertSessionsCap) && options.alertSessionsCap > 0)) {
    throw new UserError('--alert-sessions-cap must be a whole number above 0');
  }
  if (!(options.alertP99S > 0)) throw new UserError('--alert-latency must be above 0');
  return options;
}

function wholeSeconds(ms: number, flag: string): number {
  if (ms < 1000 || ms % 1000 !== 0) throw new UserError(`${flag} must be whole seconds (at least 1s)`);
  return ms / 1000;
}
