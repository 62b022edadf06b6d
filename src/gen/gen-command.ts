import path from 'node:path';
import { OperationalError, UserError } from '../errors.js';
import { DEFAULT_BENCH_ARGS, type BenchJobInput } from './bench-job.js';
import { checkGenerated, type CheckResult } from './check.js';
import { genWarnings } from './choices.js';
import { genOptionsFromConfig, genSecretsFor } from './options.js';
import type { ClusterConfig } from '../config/cluster-config.js';
import { renderTarget } from './render.js';
import { GEN_TARGETS, type GenOptions, type GenTarget } from './types.js';
import { writeGenerated, type WrittenFile } from './write.js';

export interface GenRunResult {
  target: GenTarget;
  /** The output folder, or '-' for stdout. */
  out: string;
  files: WrittenFile[];
  warnings: string[];
  /** Present with --check. */
  checks?: CheckResult[];
  /** Where the written cluster secret came from (targets that write one). */
  secret?: GenOptions['secretSource'];
}

export interface GenIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface GenRequest {
  /** The resolved settings (resolveClusterConfig with command 'gen'). */
  config: ClusterConfig;
  /** Output folder, or '-' (default) for stdout. */
  out?: string;
  /** Run the real checkers (nginx -t, haproxy -c, schemas, Dockerfile dry run). */
  check?: boolean;
  /** Report as JSON on stdout (needs out). */
  json?: boolean;
  /** Docker build context (default: the current folder). */
  context?: string;
  /** `--cluster-secret-file`: the cluster secret is this file's content. */
  clusterSecretFile?: string;
  /** `--rotate-secret`: new secrets instead of those already in `out`. */
  rotateSecret?: boolean;
  /** gen bench: the Job's pods, target and the bench flags each pod runs (refused with other targets). */
  bench?: { pods?: string | number; url?: string; flags?: string[] };
}

/**
 * `mcp-scale gen <target>`: render the resolved settings, write (or print),
 * optionally check. Throws UserError for bad input and OperationalError when
 * a check fails, after reporting.
 */
export async function runGen(
  target: string,
  request: GenRequest,
  io: GenIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<GenRunResult> {
  if (!(GEN_TARGETS as readonly string[]).includes(target)) {
    throw new UserError(`unknown gen target '${target}': use one of ${GEN_TARGETS.join(', ')}`);
  }
  const out = request.out ?? '-';
  const json = request.json === true;
  if (json && out === '-') throw new UserError('--json reports on written files: give --out DIR');
  const outDir = out === '-' ? undefined : path.resolve(out);
  const options = genOptionsFromConfig(request.config, {
    contextDir: path.resolve(request.context ?? process.cwd()),
    outDir,
    secrets: genSecretsFor(request.config, outDir, request),
  });
  const files = renderTarget(target as GenTarget, options, benchJobInput(target, request.bench));
  const warnings = [...genWarnings(options), ...targetWarnings(target as GenTarget, options)];
  for (const warning of warnings) io.stderr.write(`mcp-scale gen: warning: ${warning}\n`);
  const written = writeGenerated(files, out, io.stdout);
  const writesSecret = files.some((f) => f.kind === 'env' || f.path === 'k8s/secret.yaml');
  const result: GenRunResult = {
    target: target as GenTarget,
    out,
    files: written,
    warnings,
    ...(writesSecret ? { secret: options.secretSource } : {}),
  };
  // With files on stdout, the report goes to stderr so the output stays a clean config.
  const report = out === '-' ? io.stderr : io.stdout;
  if (!json && out !== '-') {
    for (const file of written) report.write(`wrote ${displayPath(file.path)} (${file.bytes} bytes)\n`);
    if (writesSecret) report.write(`cluster secret: ${SECRET_SOURCES[options.secretSource]}\n`);
  }
  if (request.check === true) {
    result.checks = await checkGenerated(files, { contextDir: options.contextDir });
    if (!json) for (const check of result.checks) report.write(`${formatCheck(check)}\n`);
  }
  if (json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const failed = result.checks?.filter((c) => c.status === 'failed') ?? [];
  if (failed.length > 0) {
    throw new OperationalError(`${failed.length} of ${result.checks?.length} checks failed`, 'GEN_CHECK');
  }
  return result;
}

const SECRET_SOURCES: Record<GenOptions['secretSource'], string> = {
  flag: 'from --cluster-secret / MCP_SCALE_CLUSTER_SECRET',
  file: 'from --cluster-secret-file',
  existing: 'kept from the files already in --out (--rotate-secret makes a new one)',
  new: 'new (a later run into the same --out keeps it)',
  rotated: 'rotated (--rotate-secret): restart every gateway and worker with the new Secret/.env',
};
/** `gen bench --pods N [--bench-url URL] [-- bench flags…]`; refused with any other target. */
function benchJobInput(target: string, bench: GenRequest['bench']): BenchJobInput {
  const flags = bench?.flags ?? [];
  if (target !== 'bench') {
    if (bench?.pods !== undefined) throw new UserError(`--pods goes with gen bench, not gen ${target}`);
    if (bench?.url !== undefined) throw new UserError(`--bench-url goes with gen bench, not gen ${target}`);
    if (flags.length > 0)
      throw new UserError(`bench flags after -- go with gen bench, not gen ${target}: ${flags.join(' ')}`);
    return { pods: 3, benchArgs: DEFAULT_BENCH_ARGS };
  }
  return {
    pods: bench?.pods === undefined ? 3 : Number(bench.pods),
    benchArgs: flags.length > 0 ? flags : DEFAULT_BENCH_ARGS,
    ...(bench?.url !== undefined ? { url: bench.url } : {}),
  };
}

/** Relative to the current folder when inside it, absolute otherwise. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}

function formatCheck(check: CheckResult): string {
  const label = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' }[check.status];
  return `${label} ${check.path}: ${check.check}: ${check.detail}`;
}

function targetWarnings(target: GenTarget, options: GenOptions): string[] {
  const warnings: string[] = [];
  const tls = options.tls;
  if (
    tls &&
    (target === 'haproxy' || target === 'all') &&
    tls.key !== `${tls.cert}.key` &&
    tls.key !== tls.cert
  ) {
    warnings.push(
      `HAProxy reads the TLS key from ${tls.cert} itself or from ${tls.cert}.key: concatenate or link ${tls.key} there`,
    );
  }
  if (target === 'all' && options.affinity === 'session') {
    warnings.push('no k8s/ files: --affinity session is not supported on Kubernetes (see README.md)');
  }
  if (target === 'prometheus' && !options.monitoring.metricsTokenFile) {
    warnings.push(
      'gateways and workers answer /metrics only to loopback clients unless the admin token is sent: give --metrics-token-file unless Prometheus runs on the same host',
    );
  }
  if (options.upstreams && (target === 'compose' || target === 'all')) {
    warnings.push('--upstream is ignored by compose and all: their proxies name the compose services');
  }
  return warnings;
}
