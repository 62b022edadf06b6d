import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTarget } from '../../src/gen/render.js';
import { genCases, REPO_ROOT } from '../helpers/lb-gen-cases.js';

/**
 * Golden files: each case's rendered files must equal test/golden/gen/<case>/.
 * Refresh after an intended change with `UPDATE_GOLDEN=1 npx vitest run test/unit/gen-golden.test.ts`
 * and review the diff.
 */
const GOLDEN_DIR = path.join(REPO_ROOT, 'test/golden/gen');
const update = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string, base = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory()
      ? listFiles(full, base)
      : [path.relative(base, full).split(path.sep).join('/')];
  });
}

describe('gen golden files', () => {
  for (const { name, target, options } of genCases()) {
    it(`${name} (gen ${target})`, () => {
      const files = renderTarget(target, options);
      const dir = path.join(GOLDEN_DIR, name);
      if (update) {
        fs.rmSync(dir, { recursive: true, force: true });
        for (const file of files) {
          fs.mkdirSync(path.dirname(path.join(dir, file.path)), { recursive: true });
          fs.writeFileSync(path.join(dir, file.path), file.content);
        }
      }
      expect(files.map((f) => f.path).sort()).toEqual(listFiles(dir).sort());
      for (const file of files) {
        expect(file.content, `${name}/${file.path}`).toBe(fs.readFileSync(path.join(dir, file.path), 'utf8'));
      }
    });
  }
});
