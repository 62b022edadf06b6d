import fs from 'node:fs';
import path from 'node:path';
import { renderSettingsMarkdown } from '../src/config/settings/docs.js';
import { projectRoot } from './project-root.js';

/** Rewrites docs/settings.md from the settings registry (`npm run docs:settings`). */
const file = path.join(projectRoot(import.meta.url), 'docs/settings.md');
fs.writeFileSync(file, renderSettingsMarkdown());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
