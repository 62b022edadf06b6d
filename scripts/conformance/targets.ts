import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ReadyInfo } from './target-process.js';

/**
 * The three ways the suite reaches the conformance server. Each target is a
 * command started with `--ready-file` and stopped by PID. To move a target
 * onto a new command, change its `argv` line here and nothing else.
 */
export type TargetId = 'a' | 'b' | 'c';

export interface TargetPaths {
  /** The project root (where bin/ and dist/ are). */
  root: string;
  /** The server module every target hosts, e.g. dist/examples/conformance-server.js. */
  serverModule: string;
  readyFile: string;
}

export interface TargetSpec {
  id: TargetId;
  label: string;
  /** Arguments after `node`. */
  argv(paths: TargetPaths): string[];
  /** Flags the command's `--help` must list; a target whose command lacks one is skipped, with the reason. */
  requires: { command: string[]; flags: string[] };
  /** How long starting may take before the target counts as broken. */
  startTimeoutMs: number;
  /** What the ready file must show for the target to be what its label says; a reason when it does not. */
  checkReady?: (ready: ReadyInfo) => string | undefined;
  /**
   * The instances that must each have served part of the suite (read from
   * their /metrics), so a scaled target cannot pass by sending everything
   * to one worker. Unset: not checked.
   */
  spreadOver?: number;
}

const cli = (root: string) => path.join(root, 'bin', 'mcp-scale.js');

export const TARGETS: readonly TargetSpec[] = [
  {
    id: 'a',
    label: 'worker (one instance, no gateway)',
    // One `mcp-scale worker` hosting the server: nothing between the suite
    // and one instance of it but the worker host itself. Memory mode, so no
    // REDIS_URL in the environment changes what (a) is.
    argv: ({ root, serverModule, readyFile }) => [
      cli(root),
      ...['worker', '--id', 'direct', '--server', serverModule, '--redis', 'memory'],
      // The suite talks to the worker itself: no gateway signs its requests.
      ...['--port', '0', '--ready-file', readyFile, '--direct-workers'],
    ],
    requires: { command: ['worker'], flags: ['--server', '--ready-file', '--redis', '--direct-workers'] },
    startTimeoutMs: 30_000,
  },
  {
    id: 'b',
    label: 'serve --instances 3 (gateway)',
    argv: ({ root, serverModule, readyFile }) => [
      cli(root),
      ...['serve', '--instances', '3', '--server', serverModule, '--port', '0', '--ready-file', readyFile],
    ],
    requires: { command: ['serve'], flags: ['--instances', '--server', '--ready-file'] },
    startTimeoutMs: 90_000,
    spreadOver: 3,
  },
  {
    id: 'c',
    label: 'serve --lb nginx --affinity session',
    argv: ({ root, serverModule, readyFile }) => [
      cli(root),
      ...['serve', '--instances', '3', '--server', serverModule, '--lb', 'nginx', '--affinity', 'session'],
      ...['--port', '0', '--ready-file', readyFile],
    ],
    requires: {
      command: ['serve'],
      flags: ['--instances', '--server', '--ready-file', '--lb', '--affinity'],
    },
    startTimeoutMs: 90_000,
    spreadOver: 3,
    // A serve that accepted --lb but served through the gateway alone would
    // pass (c) without nginx ever being in the path.
    checkReady: (ready) =>
      ready.lb?.kind === 'nginx' && ready.url === ready.lb.url
        ? undefined
        : `the ready file names no nginx load balancer in front (lb: ${JSON.stringify(ready.lb ?? null)})`,
  },
];

/**
 * Why a target cannot run (not built, or the built CLI lacks its command or
 * a flag), or undefined when it can. The run then fails with this reason
 * instead of a stack of start-up errors.
 */
export function targetUnavailableReason(target: TargetSpec, paths: TargetPaths): string | undefined {
  const entry = target.argv(paths)[0];
  if (!entry || !fs.existsSync(entry))
    return `${path.relative(paths.root, entry ?? '')} not built (npm run build)`;
  if (!fs.existsSync(paths.serverModule)) return `${path.relative(paths.root, paths.serverModule)} not built`;
  if (target.requires.command.length === 0) return undefined;
  const name = target.requires.command.join(' ');
  const help = spawnSync(process.execPath, [entry, ...target.requires.command, '--help'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (help.status !== 0) {
    const why = `${help.stderr ?? ''}${help.stdout ?? ''}`.trim().split('\n')[0]?.slice(0, 120);
    return `${name} not available${why ? ` (${why})` : ''}`;
  }
  // Without the command, commander prints the program's own help and exits 0.
  if (!help.stdout.includes(`Usage: mcp-scale ${name}`))
    return `${name} not available (no such command in this build)`;
  const missing = target.requires.flags.filter((flag) => !new RegExp(`${flag}\\b`).test(help.stdout));
  return missing.length > 0 ? `${name} has no ${missing.join(', ')}` : undefined;
}
