import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { errorMessage, OperationalError } from '../../src/errors.js';
import { parseSuiteRun, type ScenarioResult } from './results.js';

/**
 * The official suite, pinned: a new release may add scenarios or checks, so
 * it is adopted by changing this line and reconciling docs/conformance.md.
 */
export const CONFORMANCE_PACKAGE = '@modelcontextprotocol/conformance@0.1.16';

/**
 * The suite's CLI needs Node >= 22 (it imports `fs.globSync`) while this
 * project runs on 20, so npx brings both from the npm registry. Resolving
 * the two paths once lets every later run skip npx (about 0.5 s when cached).
 */
export interface ConformanceCli {
  node: string;
  script: string;
  nodeVersion: string;
  packageSpec: string;
}

export async function resolveConformanceCli(
  options: { packageSpec?: string; timeoutMs?: number } = {},
): Promise<ConformanceCli> {
  const packageSpec = options.packageSpec ?? CONFORMANCE_PACKAGE;
  const args = [
    '-y',
    '-p',
    'node@22',
    '-p',
    packageSpec,
    '-c',
    'command -v node; command -v conformance; node --version',
  ];
  // npm's default retry back-off waits about 70 s before admitting the
  // registry is unreachable; a few seconds is enough to tell.
  const env = {
    npm_config_fetch_retry_mintimeout: '2000',
    npm_config_fetch_retry_maxtimeout: '5000',
    ...process.env,
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      'npx',
      args,
      { env, timeout: options.timeoutMs ?? 180_000, encoding: 'utf8' },
      (error, out, err) => {
        if (error) reject(new Error(npmErrorSummary(err) || error.message.split('\n')[0]));
        else resolve(out);
      },
    );
  }).catch((error: unknown) => {
    throw new OperationalError(
      `cannot fetch ${packageSpec} with node@22 through npx: ${errorMessage(error)}`,
      'conformance-cli-unavailable',
    );
  });
  const lines = stdout.split('\n').map((line) => line.trim());
  const node = lines.find((line) => line.startsWith('/') && line.endsWith('/node'));
  const script = lines.find((line) => line.startsWith('/') && line.endsWith('/conformance'));
  const nodeVersion = lines.find((line) => /^v\d+\./.test(line)) ?? '';
  if (!node || !script || Number(nodeVersion.slice(1).split('.')[0]) < 22) {
    throw new OperationalError(
      `npx did not provide node >= 22 and the conformance CLI (got: ${lines.join(' | ')})`,
      'conformance-cli-unavailable',
    );
  }
  return { node, script, nodeVersion, packageSpec };
}

export interface SuiteRunOptions {
  url: string;
  /** `active` (the default suite), `all` (adds pending scenarios) or `pending`. */
  suite?: 'active' | 'all' | 'pending';
  /** Where the CLI writes one `server-<scenario>-<time>/checks.json` per scenario. */
  outputDir: string;
  /** The CLI's stdout and stderr are written here. */
  logFile?: string;
  timeoutMs?: number;
}

export interface SuiteRun {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  scenarios: ScenarioResult[];
}

/** Runs one suite against one URL and reads back every scenario's checks. */
export async function runConformanceSuite(cli: ConformanceCli, options: SuiteRunOptions): Promise<SuiteRun> {
  await fs.mkdir(options.outputDir, { recursive: true });
  const args = [cli.script, 'server', '--url', options.url, '--suite', options.suite ?? 'active'];
  args.push('--output-dir', options.outputDir);
  const started = Date.now();
  const child = spawn(cli.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid) process.kill(child.pid, 'SIGKILL');
  }, options.timeoutMs ?? 600_000);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  }).finally(() => clearTimeout(timer));
  if (options.logFile) await fs.writeFile(options.logFile, `${stdout}\n--- stderr ---\n${stderr}`);
  const scenarios = await parseSuiteRun(stdout, options.outputDir);
  return { exitCode, timedOut, durationMs: Date.now() - started, scenarios };
}

/** The first few `npm error` lines: the code and what npm made of it. */
function npmErrorSummary(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('npm error') && line.trim() !== 'npm error')
    .slice(0, 3)
    .join('; ');
}
