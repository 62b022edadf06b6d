import YAML from 'yaml';
import type { MonitoringOptions } from './monitoring-options.js';

export const GATEWAY_JOB = 'mcp-scale-gateways';
export const WORKER_JOB = 'mcp-scale-workers';
export const RULES_FILE = 'mcp-scale-alerts.yml';

/**
 * prometheus.yml: one job for gateways and one for workers, both at
 * /metrics, found either as static targets or by Kubernetes pod discovery
 * (the `app.kubernetes.io/name=mcp-scale` + `component` labels and the
 * `http` container port that `gen k8s` writes), plus the alert rules file.
 */
export function prometheusConfig(options: MonitoringOptions, header: string[]): string {
  const job = (name: string, component: 'gateway' | 'worker', targets: string[]) => ({
    job_name: name,
    metrics_path: '/metrics',
    ...(options.metricsTokenFile
      ? { authorization: { type: 'Bearer', credentials_file: options.metricsTokenFile } }
      : {}),
    ...(options.discovery === 'static'
      ? { static_configs: [{ targets, labels: { component } }] }
      : {
          kubernetes_sd_configs: [{ role: 'pod' }],
          relabel_configs: [
            {
              source_labels: [
                '__meta_kubernetes_pod_label_app_kubernetes_io_name',
                '__meta_kubernetes_pod_label_app_kubernetes_io_component',
                '__meta_kubernetes_pod_container_port_name',
              ],
              regex: `mcp-scale;${component};http`,
              action: 'keep',
            },
            { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
            { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
            { target_label: 'component', replacement: component },
          ],
        }),
  });
  const config = {
    global: {
      scrape_interval: `${options.scrapeIntervalS}s`,
      evaluation_interval: `${options.scrapeIntervalS}s`,
    },
    rule_files: [RULES_FILE],
    scrape_configs: [
      job(GATEWAY_JOB, 'gateway', options.gatewayTargets),
      job(WORKER_JOB, 'worker', options.workerTargets),
    ],
  };
  return `${header.map((line) => `# ${line}`).join('\n')}\n${YAML.stringify(config)}`;
}
