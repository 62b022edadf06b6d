import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSettingsMarkdown } from '../../src/config/settings/docs.js';
import { SETTINGS } from '../../src/config/settings/registry.js';
import { REPO_ROOT } from '../helpers/lb-gen-cases.js';

describe('docs/settings.md', () => {
  it('is what the registry generates (run `npm run docs:settings` after changing a setting)', () => {
    const onDisk = fs.readFileSync(path.join(REPO_ROOT, 'docs/settings.md'), 'utf8');
    expect(onDisk).toBe(renderSettingsMarkdown());
  });

  it('lists every setting with its flag and environment variable', () => {
    const text = renderSettingsMarkdown();
    for (const s of SETTINGS) {
      expect(text).toContain(`| \`${s.name}\` | \`--${s.flag}`);
      expect(text).toContain(`\`${s.env}\``);
    }
  });
});
