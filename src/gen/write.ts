import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { GeneratedFile } from './types.js';

export interface WrittenFile {
  path: string;
  bytes: number;
}

/**
 * Writes generated files under `out`, or to stdout with `-` (several files
 * are separated by a `# ==> path <==` line, as `tail` does). Secrets keep
 * their 0600 mode even when the file already existed.
 */
export function writeGenerated(
  files: GeneratedFile[],
  out: string,
  stdout: NodeJS.WritableStream = process.stdout,
): WrittenFile[] {
  if (out === '-') {
    files.forEach((file, index) => {
      if (files.length > 1) stdout.write(`${index === 0 ? '' : '\n'}# ==> ${file.path} <==\n`);
      stdout.write(file.content);
    });
    return files.map((file) => ({ path: file.path, bytes: Buffer.byteLength(file.content) }));
  }
  const root = path.resolve(out);
  return files.map((file) => {
    const target = path.resolve(root, file.path);
    if (!target.startsWith(root + path.sep))
      throw new UserError(`refusing to write outside ${root}: ${file.path}`);
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.content, { mode: file.mode ?? 0o644 });
      if (file.mode !== undefined) fs.chmodSync(target, file.mode);
    } catch (error) {
      throw new UserError(
        `cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    return { path: target, bytes: Buffer.byteLength(file.content) };
  });
}
