import fs from 'node:fs';
import { isProcessAlive, waitForExit } from '../util/process.js';

/**
 * The direct children of a process (nginx's workers are children of its
 * master), read from /proc. Empty where /proc is not available.
 */
export function childPids(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/**
 * Stops a process by its pid, then makes sure the children it had are gone
 * too: SIGTERM, SIGKILL after `graceMs`, and SIGKILL for any child left over
 * (a worker whose master was killed does not always notice).
 */
export async function stopProcessTree(
  pid: number,
  exited: Promise<unknown>,
  options: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  const children = childPids(pid);
  const graceMs = options.graceMs ?? 5000;
  if (isProcessAlive(pid)) {
    try {
      process.kill(pid, options.signal ?? 'SIGTERM');
    } catch {
      // already gone
    }
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        killQuietly(pid);
        resolve();
      }, graceMs);
    }),
  ]);
  clearTimeout(timer);
  await exited;
  for (const child of children) {
    if (!(await waitForExit(child, 2000))) killQuietly(child);
  }
  await Promise.all(children.map((child) => waitForExit(child, 2000)));
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
