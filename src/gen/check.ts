import { errorMessage } from '../errors.js';
import { checkDockerfile } from './check-dockerfile.js';
import { validateComposeFile } from './check-compose.js';
import { validateK8sManifest } from './check-k8s.js';
import { checkPodSecurity, podTemplateOf } from './pod-security.js';
import { parseAllDocuments } from 'yaml';
import { checkHaproxyConfig, checkNginxConfig } from './check-proxy.js';
import { checkWithPromtool } from './monitoring/check-prometheus.js';
import type { GeneratedFile, GeneratedKind } from './types.js';

export interface CheckResult {
  path: string;
  kind: GeneratedKind;
  /** What ran: 'nginx -t', 'haproxy -c', 'compose schema', 'k8s schema', 'dockerfile dry run', 'env'. */
  check: string;
  status: 'passed' | 'failed' | 'skipped';
  detail: string;
}

export interface CheckOptions {
  /** The Docker build context the Dockerfile is checked against. */
  contextDir: string;
}

/**
 * Checks generated files with the real tools where installed (nginx,
 * haproxy), JSON schemas (compose, Kubernetes) and a Dockerfile dry run.
 * Files with nothing to check (README, .dockerignore) produce no result.
 */
export async function checkGenerated(files: GeneratedFile[], options: CheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const file of files) {
    const result = await checkOne(file, files, options).catch(
      (error: unknown): Omit<CheckResult, 'path' | 'kind'> => ({
        check: 'check',
        status: 'failed',
        detail: `the check itself failed: ${errorMessage(error)}`,
      }),
    );
    if (result) results.push({ path: file.path, kind: file.kind, ...result });
    // Pod templates also answer to the restricted Pod Security profile.
    if (file.kind === 'k8s' && hasPodTemplates(file.content)) {
      results.push({
        path: file.path,
        kind: file.kind,
        ...fromProblems('pod security (restricted)', podSecurityProblems(file.content)),
      });
    }
  }
  return results;
}

async function checkOne(
  file: GeneratedFile,
  all: GeneratedFile[],
  options: CheckOptions,
): Promise<Omit<CheckResult, 'path' | 'kind'> | undefined> {
  switch (file.kind) {
    case 'nginx':
      return { check: 'nginx -t', ...(await checkNginxConfig(file.content)) };
    case 'haproxy':
      return { check: 'haproxy -c', ...(await checkHaproxyConfig(file.content)) };
    case 'compose':
      return fromProblems('compose schema', await validateComposeFile(file.content));
    case 'k8s':
      return fromProblems('k8s schema', await validateK8sManifest(file.content));
    case 'dockerfile': {
      const ignore = all.find((f) => f.kind === 'dockerignore' && f.path === `${file.path}.dockerignore`);
      return fromProblems(
        'dockerfile dry run',
        checkDockerfile(file.content, ignore?.content ?? '', options.contextDir),
      );
    }
    case 'env':
      return fromProblems('env', checkEnvFile(file.content));
    case 'prometheus':
    case 'prometheus-rules':
    case 'grafana':
      return checkWithPromtool(file, all);
    case 'dockerignore':
    case 'readme':
    case 'placeholder':
      return undefined;
  }
}

function k8sObjects(text: string): unknown[] {
  return [parseAllDocuments(text)].flat().map((document) => document.toJS() as unknown);
}

function hasPodTemplates(text: string): boolean {
  return k8sObjects(text).some((object) => podTemplateOf(object) !== undefined);
}

/** Every Pod Security rule violation in a multi-document manifest. */
export function podSecurityProblems(text: string): string[] {
  return k8sObjects(text).flatMap((object) => checkPodSecurity(object));
}

function fromProblems(check: string, problems: string[]): Omit<CheckResult, 'path' | 'kind'> {
  return problems.length === 0
    ? { check, status: 'passed', detail: 'ok' }
    : { check, status: 'failed', detail: problems.join('; ') };
}

/** KEY=VALUE lines, and a cluster secret of at least 32 bytes. */
export function checkEnvFile(text: string): string[] {
  const problems: string[] = [];
  const values = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) problems.push(`line ${i + 1}: not KEY=VALUE`);
    else values.set(match[1] ?? '', (match[2] ?? '').replace(/^'(.*)'$/, '$1'));
  });
  const secret = values.get('MCP_SCALE_CLUSTER_SECRET');
  if (secret === undefined) problems.push('MCP_SCALE_CLUSTER_SECRET is missing');
  else if (Buffer.byteLength(secret) < 32) problems.push('MCP_SCALE_CLUSTER_SECRET is shorter than 32 bytes');
  return problems;
}
