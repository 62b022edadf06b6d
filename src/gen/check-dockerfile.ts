import fs from 'node:fs';
import path from 'node:path';
import { readContextPackage, type ContextPackage } from './docker-context.js';
import { NODE_IMAGE_PATTERN } from './images.js';

/**
 * A dry check of a generated Dockerfile, for machines without a Docker
 * engine: every file it COPYs exists in the build context and is not
 * excluded by its .dockerignore, every command it runs is the package's own
 * (npm ci, npm run <script of package.json>, the mcp-scale CLI), the base
 * image is an official node image (a digest pin allowed) and the final stage does not run as root.
 */
export function checkDockerfile(dockerfile: string, dockerignore: string, contextDir: string): string[] {
  const problems: string[] = [];
  let pkg: ContextPackage;
  try {
    pkg = readContextPackage(contextDir);
  } catch (error) {
    return [(error as Error).message];
  }
  const ignore = ignorePatterns(dockerignore);
  const stages = new Set<string>();
  let user: string | undefined;
  let stageCount = 0;
  for (const { keyword, args, line } of instructions(dockerfile)) {
    const where = `line ${line}: ${keyword}`;
    switch (keyword) {
      case 'FROM': {
        const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        if (!NODE_IMAGE_PATTERN.test(match?.[1] ?? ''))
          problems.push(`${where}: base image must be node:<tag>[@sha256:<digest>], got '${args}'`);
        if (match?.[2]) stages.add(match[2]);
        stageCount++;
        user = undefined;
        break;
      }
      case 'COPY':
        problems.push(...checkCopy(args, contextDir, ignore, stages).map((p) => `${where}: ${p}`));
        break;
      case 'RUN':
        for (const command of args.split('&&').map((c) => c.trim())) {
          if (!isOwnCommand(command, pkg))
            problems.push(`${where}: '${command}' is not one of the package's own commands`);
        }
        break;
      case 'USER':
        user = args;
        break;
      case 'HEALTHCHECK': {
        const argv = execForm(args.replace(/^(--\S+\s+)*CMD\s+/, ''));
        if (argv?.[0] !== 'node' || argv[1] !== '-e')
          problems.push(`${where}: must be an exec-form node -e probe`);
        break;
      }
      case 'ENTRYPOINT': {
        const argv = execForm(args);
        const cli = argv?.[1];
        if (argv?.[0] !== 'node' || !cli || argv.length !== 2) {
          problems.push(`${where}: must be ["node", "<mcp-scale CLI>"]`);
        } else if (cli.startsWith('node_modules/mcp-scale/')) {
          if (!pkg.dependencies?.['mcp-scale'])
            problems.push(`${where}: ${cli} needs mcp-scale in dependencies`);
        } else if (!fs.existsSync(path.join(contextDir, cli))) {
          problems.push(`${where}: ${cli} is not in the build context`);
        }
        break;
      }
      case 'CMD': {
        const argv = execForm(args);
        if (!argv || !['gateway', 'worker', 'serve'].includes(argv[0] ?? '')) {
          problems.push(`${where}: must be an exec-form mcp-scale role (gateway, worker or serve)`);
        }
        break;
      }
      case 'WORKDIR':
      case 'ENV':
      case 'EXPOSE':
        break;
      default:
        problems.push(`${where}: not an instruction the generated Dockerfile uses`);
    }
  }
  if (stageCount === 0) problems.push('no FROM');
  if (!user || user === 'root' || user === '0') problems.push('the final stage must set a non-root USER');
  return problems;
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.search(/\s/);
    result.push({
      keyword: (space < 0 ? full : full.slice(0, space)).toUpperCase(),
      args: space < 0 ? '' : full.slice(space + 1).trim(),
      line: start,
    });
  });
  return result;
}

function execForm(args: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

function checkCopy(args: string, contextDir: string, ignore: RegExp[], stages: Set<string>): string[] {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  if (paths.length < 2) return ['needs a source and a destination'];
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  if (from !== undefined) return stages.has(from) ? [] : [`--from=${from} names no earlier stage`];
  const problems: string[] = [];
  for (const source of paths.slice(0, -1)) {
    const relative = path.posix.normalize(source.replace(/^\.\//, ''));
    if (relative.startsWith('..')) problems.push(`${source} is outside the build context`);
    else if (!fs.existsSync(path.join(contextDir, relative)))
      problems.push(`${source} does not exist in ${contextDir}`);
    else if (ignore.some((pattern) => pattern.test(relative)))
      problems.push(`${source} is excluded by the .dockerignore`);
  }
  return problems;
}

/** .dockerignore lines as regexes over context-relative paths (a match also excludes what is under it). */
function ignorePatterns(text: string): RegExp[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'))
    .map((line) => {
      const anywhere = line.startsWith('**/');
      const body = line
        .replace(/^\*\*\//, '')
        .replace(/^\//, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]');
      return new RegExp(`^${anywhere ? '(?:.*/)?' : ''}${body}(?:/.*)?$`);
    });
}

/** npm ci (optionally production-only), npm cache clean, or npm run of a script package.json defines. */
function isOwnCommand(command: string, pkg: ContextPackage): boolean {
  const words = command.split(/\s+/);
  if (words[0] !== 'npm') return false;
  if (words[1] === 'ci')
    return words.slice(2).every((w) => ['--omit=dev', '--no-audit', '--no-fund'].includes(w));
  if (words[1] === 'cache') return words.slice(2).join(' ') === 'clean --force';
  if (words[1] === 'run') return words.length === 3 && Boolean(pkg.scripts?.[words[2] ?? '']);
  return false;
}
