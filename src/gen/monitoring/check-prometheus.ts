import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { which } from '../../util/process.js';
import type { GeneratedFile } from '../types.js';
import { RULES_FILE } from './prometheus-config.js';

export interface PromtoolCheck {
  check: string;
  status: 'passed' | 'failed' | 'skipped';
  detail: string;
}

/**
 * `promtool check config` (which also loads the rule files it names, so the
 * rules file generated with it is put next to it) and `promtool check rules`.
 * A Grafana dashboard's queries are checked by promtool too: written as
 * recording rules, with Grafana's $__rate_interval as 1m.
 */
export function checkWithPromtool(
  file: GeneratedFile,
  all: GeneratedFile[],
  binary = which('promtool'),
): PromtoolCheck {
  const check = file.kind === 'prometheus' ? 'promtool check config' : 'promtool check rules';
  if (!binary)
    return {
      check,
      status: 'skipped',
      detail: 'promtool is not installed (Debian: apt-get install prometheus)',
    };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-promtool-'));
  try {
    let target = path.join(dir, path.basename(file.path));
    let note = '';
    let content = file.content;
    if (file.kind === 'prometheus') {
      const rules = all.find((f) => f.kind === 'prometheus-rules');
      fs.writeFileSync(path.join(dir, RULES_FILE), rules?.content ?? 'groups: []\n');
      const placeholder = withLocalTokenFile(content, path.join(dir, 'token'));
      if (placeholder !== content)
        note += ' (the token file is not on this machine: checked with a placeholder)';
      content = placeholder;
      fs.writeFileSync(target, content);
    } else if (file.kind === 'grafana') {
      target = path.join(dir, 'grafana-queries.yml');
      fs.writeFileSync(target, grafanaQueriesAsRules(file.content));
    } else {
      fs.writeFileSync(target, file.content);
    }
    const args = file.kind === 'prometheus' ? ['check', 'config', target] : ['check', 'rules', target];
    let result = run(binary, args);
    if (result.status !== 0 && /kubernetes_sd_configs not found/.test(result.output)) {
      // Debian builds Prometheus without Kubernetes discovery: check everything
      // else, with the discovery block swapped for a static target.
      fs.writeFileSync(target, withoutKubernetesDiscovery(content));
      result = run(binary, args);
      note +=
        ' (this promtool has no Kubernetes discovery, as Debian builds it: checked with it replaced by a static target)';
    }
    return result.status === 0
      ? { check, status: 'passed', detail: `${summary(result.output)}${note}` }
      : {
          check,
          status: 'failed',
          detail: result.output.split('\n').slice(-4).join(' | ') || `exit ${result.status}`,
        };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(binary: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** promtool reads the Bearer token file; the one named may only exist on the Prometheus host. */
function withLocalTokenFile(content: string, placeholder: string): string {
  const config = YAML.parse(content) as {
    scrape_configs?: { authorization?: { credentials_file?: string } }[];
  };
  let replaced = false;
  for (const job of config.scrape_configs ?? []) {
    const file = job.authorization?.credentials_file;
    if (file && !fs.existsSync(file)) {
      fs.writeFileSync(placeholder, 'placeholder\n');
      job.authorization!.credentials_file = placeholder;
      replaced = true;
    }
  }
  return replaced ? YAML.stringify(config) : content;
}

function withoutKubernetesDiscovery(content: string): string {
  const config = YAML.parse(content) as { scrape_configs?: Record<string, unknown>[] };
  for (const job of config.scrape_configs ?? []) {
    if (!job.kubernetes_sd_configs) continue;
    delete job.kubernetes_sd_configs;
    job.static_configs = [{ targets: ['127.0.0.1:9'] }];
  }
  return YAML.stringify(config);
}

/** Every query of a dashboard JSON, as one recording rule each (promtool parses their PromQL). */
export function grafanaQueries(json: string): string[] {
  const dashboard = JSON.parse(json) as { panels?: { targets?: { expr?: string }[] }[] };
  return (dashboard.panels ?? []).flatMap((panel) => (panel.targets ?? []).map((t) => String(t.expr)));
}

function grafanaQueriesAsRules(json: string): string {
  const rules = grafanaQueries(json).map((expr, i) => ({
    record: `grafana:query_${i + 1}`,
    expr: expr.replaceAll('$__rate_interval', '1m'),
  }));
  return YAML.stringify({ groups: [{ name: 'grafana-queries', rules }] });
}

function summary(output: string): string {
  const found = /SUCCESS: (\d+) rules found/.exec(output);
  return found ? `ok (${found[1]} rules)` : 'ok';
}
