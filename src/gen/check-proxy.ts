import { spawnSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { which } from '../util/process.js';

/**
 * Checks proxy configs with the real binaries: `nginx -t -c FILE -p PREFIX`
 * and `haproxy -c -f FILE`, each in a scratch folder (nginx -t creates its
 * temp folders and pid file in the prefix, so never the user's folder).
 */

export interface ToolCheck {
  /** 'skipped' when the binary is not installed. */
  status: 'passed' | 'failed' | 'skipped';
  detail: string;
}

export async function checkNginxConfig(content: string, binary = which('nginx')): Promise<ToolCheck> {
  if (!binary) return { status: 'skipped', detail: 'nginx is not installed' };
  const { text: resolvable, substituted } = await resolvableUpstreams(content);
  const { text, note: resolveNote } = withoutResolveIfUnsupported(resolvable, binary);
  return inScratchFolder('mcp-scale-nginx-check-', (dir) => {
    const file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, text);
    const result = runToFile(binary, ['-t', '-q', '-c', file, '-p', `${dir}/`], path.join(dir, 'check.log'));
    const output = result.output.trim();
    const note =
      (substituted.length ? ` (not resolvable here, checked as 127.0.0.1: ${substituted.join(', ')})` : '') +
      resolveNote;
    return result.status === 0
      ? { status: 'passed', detail: `ok${note}` }
      : { status: 'failed', detail: `${lastLines(output)}${note}` };
  });
}

export async function checkHaproxyConfig(content: string, binary = which('haproxy')): Promise<ToolCheck> {
  if (!binary) return { status: 'skipped', detail: 'haproxy is not installed' };
  return inScratchFolder('mcp-scale-haproxy-check-', (dir) => {
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, content);
    const result = runToFile(binary, ['-c', '-f', file], path.join(dir, 'check.log'));
    const output = result.output.trim();
    const warnings = output
      .split('\n')
      .filter((line) => line.includes('[WARNING]'))
      .map((line) =>
        line
          .replace(/^.*\[WARNING\][^:]*:[^:]*:\s*/, '')
          .replace(/^\[[^\]]*\]\s*:\s*/, '')
          .trim(),
      );
    return result.status === 0
      ? { status: 'passed', detail: warnings.length ? `ok (${warnings.join(' | ')})` : 'ok' }
      : { status: 'failed', detail: lastLines(output) || `exit ${result.status}` };
  });
}

/**
 * Runs a check with stdout/stderr in a file, not a pipe: Node's pipes are
 * socket pairs, and nginx cannot open `/dev/stdout` (the generated
 * access_log) when it is a socket.
 */
function runToFile(binary: string, args: string[], logFile: string): { status: number; output: string } {
  const fd = fs.openSync(logFile, 'w');
  try {
    const result = spawnSync(binary, args, { stdio: ['ignore', fd, fd], timeout: 30_000 });
    return { status: result.status ?? -1, output: fs.readFileSync(logFile, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

function inScratchFolder<T>(prefix: string, work: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // Readable by nginx workers that drop to `nobody` when the check runs as root.
  fs.chmodSync(dir, 0o755);
  try {
    return work(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * nginx resolves upstream host names while it reads the config, so a file
 * naming compose services (gateway-1) cannot pass `nginx -t` on a machine
 * without them. Such names are checked as 127.0.0.1, and the result says so.
 */
async function resolvableUpstreams(content: string): Promise<{ text: string; substituted: string[] }> {
  const pattern = /^(\s*server\s+)([A-Za-z0-9.-]+)(:\d+)/gm;
  const hosts = new Set<string>();
  for (const match of content.matchAll(pattern)) {
    const host = match[2] ?? '';
    if (net.isIP(host) === 0) hosts.add(host);
  }
  const unresolved = new Set<string>();
  await Promise.all(
    [...hosts].map(async (host) => {
      try {
        await dns.lookup(host);
      } catch {
        unresolved.add(host);
      }
    }),
  );
  const text = content.replace(pattern, (whole, lead: string, host: string, port: string) =>
    unresolved.has(host) ? `${lead}127.0.0.1${port}` : whole,
  );
  return { text, substituted: [...unresolved].sort() };
}

/** `resolve` on upstream servers is in open-source nginx from 1.27.3 on. */
export const NGINX_RESOLVE_SINCE = [1, 27, 3] as const;

/** The installed nginx's version (`nginx -v` prints it on stderr), or undefined. */
export function nginxVersion(binary: string): number[] | undefined {
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${result.stderr}${result.stdout}`);
  return match ? match.slice(1, 4).map(Number) : undefined;
}

export function versionAtLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * A file written for the pinned compose image (nginx >= 1.27.3) uses
 * `resolve`; an older local nginx checks it without that one parameter,
 * and the result says so rather than failing or passing silently.
 */
function withoutResolveIfUnsupported(content: string, binary: string): { text: string; note: string } {
  const pattern = /^(\s*server\s+\S+) resolve\b/gm;
  if (!pattern.test(content)) return { text: content, note: '' };
  const version = nginxVersion(binary);
  if (version && versionAtLeast(version, NGINX_RESOLVE_SINCE)) return { text: content, note: '' };
  const found = version ? version.join('.') : 'unknown';
  return {
    text: content.replace(pattern, '$1'),
    note: ` (checked without \`resolve\`: it needs nginx >= ${NGINX_RESOLVE_SINCE.join('.')}, found ${found}; the compose file pins such an image)`,
  };
}

function lastLines(text: string, count = 3): string {
  return text.split('\n').filter(Boolean).slice(-count).join(' | ');
}
