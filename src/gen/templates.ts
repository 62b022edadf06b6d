import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import { hostPort, nginxSize, upstreamName } from './proxy-model.js';
import { secretKey } from './role-args.js';

/**
 * The package's templates/ folder: two levels above this file both in src/gen
 * (tests) and in dist/gen (the published CLI); three in dist-dev/src/gen,
 * where the development scripts (npm run bench:perf) compile it.
 */
export const TEMPLATES_DIR =
  ['../../templates/', '../../../templates/']
    .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
    .find((dir) => fs.existsSync(path.join(dir, 'nginx'))) ??
  fileURLToPath(new URL('../../templates/', import.meta.url));

const cache = new Map<string, string>();

function readTemplate(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = fs.readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** Helpers every template may call. */
const helpers = {
  nginxSize,
  hostPort,
  upstreamName,
  secretKey,
  /** A YAML/JSON double-quoted scalar. */
  q: (value: unknown): string => JSON.stringify(String(value)),
  comment: (lines: string[], marker = '#'): string => commentBlock(lines, marker),
};

/**
 * Renders `templates/<name>` with `data` plus the helpers. `<%=` does not
 * HTML-escape (these are config files); values are validated before they
 * reach a template instead.
 */
export function renderTemplate(name: string, data: Record<string, unknown>): string {
  const text = readTemplate(name);
  return ejs.render(
    text,
    { ...helpers, ...data },
    { filename: path.join(TEMPLATES_DIR, name), escape: (value: unknown) => String(value) },
  );
}

/**
 * A comment block: each entry is a paragraph, wrapped at 100 columns; an
 * entry starting with '- ' is a bullet whose continuation lines are indented.
 */
export function commentBlock(paragraphs: string[], marker = '#'): string {
  const width = 100 - marker.length - 1;
  const out: string[] = [];
  for (const paragraph of paragraphs) {
    if (paragraph === '') {
      out.push(marker);
      continue;
    }
    const indent = paragraph.startsWith('- ') ? '  ' : '';
    let line = '';
    for (const word of paragraph.split(/\s+/)) {
      if (line && line.length + 1 + word.length > width) {
        out.push(`${marker} ${line}`);
        line = indent + word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) out.push(`${marker} ${line}`);
  }
  return out.join('\n');
}
