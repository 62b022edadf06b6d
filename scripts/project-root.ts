import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (where bin/, dist/ and package.json are), found by walking up from a module.
 * The development scripts run both from source (vitest) and compiled into dist-dev/, so a fixed
 * number of '..' would be right in only one of the two.
 */
export function projectRoot(moduleUrl: string): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'bin', 'mcp-scale.js')))
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no mcp-scale project root above ${moduleUrl}`);
    dir = parent;
  }
}
