import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationalError } from '../errors.js';

/**
 * A private folder for one local proxy run (config, pid, temp files).
 *
 * nginx started as root runs its workers as `nobody`, and a worker writes
 * request bodies over 16 KB (client_body_buffer_size) to client_body_temp
 * inside this folder: mkdtemp's 0700 folder would turn such requests into
 * 500s. So the folder is 0755 and every folder above it must let others
 * through (o+x); when TMPDIR's does not, /tmp is used instead.
 */
export function makeRunPrefix(label: string): string {
  const candidates = [os.tmpdir(), '/tmp'];
  const asRoot = process.getuid?.() === 0;
  for (const base of candidates) {
    if (asRoot && !traversableByOthers(base)) continue;
    const dir = fs.mkdtempSync(path.join(base, `mcp-scale-${label}-`));
    fs.chmodSync(dir, 0o755);
    return dir;
  }
  throw new OperationalError(
    `no temporary folder that nginx workers (user nobody) can reach: ${candidates.join(', ')} are not traversable by others`,
    'LB_PREFIX',
  );
}

/** True when every folder from `dir` up to / has the execute bit for others. */
export function traversableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    try {
      if ((fs.statSync(current).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

export function removeRunPrefix(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
