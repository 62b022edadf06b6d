import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { NODE_IMAGE } from './images.js';
import type { GenOptions } from './types.js';

/**
 * What the Dockerfile builds from, read from the build context's package.json:
 *   - 'source': the context is mcp-scale itself; the image compiles it.
 *   - 'dependency': a project that depends on mcp-scale; the image installs it.
 */
export interface DockerContext {
  flavor: 'source' | 'dependency';
  /** The CLI inside the image, relative to /app. */
  cliPath: string;
  /** What to COPY for the server module (its folder, or the file at the context root). */
  serverCopy?: string;
  /** --server for the roles inside the image. */
  serverPathInImage?: string;
  /** FROM of both stages (`--base-image`). */
  baseImage: string;
}

export interface ContextPackage {
  name?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}

export function readContextPackage(contextDir: string): ContextPackage {
  const file = path.join(contextDir, 'package.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ContextPackage;
  } catch (error) {
    throw new UserError(
      `the Docker build context ${contextDir} has no readable package.json (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass --context DIR`,
    );
  }
}

export function dockerContext(
  options: Pick<GenOptions, 'contextDir' | 'server'> & { baseImage?: string },
): DockerContext {
  const pkg = readContextPackage(options.contextDir);
  let flavor: DockerContext['flavor'];
  if (pkg.name === 'mcp-scale') flavor = 'source';
  else if (pkg.dependencies?.['mcp-scale']) flavor = 'dependency';
  else {
    throw new UserError(
      `the Docker build context ${options.contextDir} is neither mcp-scale nor a project that depends on it; pass --context DIR`,
    );
  }
  const context: DockerContext = {
    flavor,
    cliPath: flavor === 'source' ? 'bin/mcp-scale.js' : 'node_modules/mcp-scale/bin/mcp-scale.js',
    baseImage: options.baseImage ?? NODE_IMAGE,
  };
  if (options.server) {
    const relative = path.relative(options.contextDir, path.resolve(options.server));
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new UserError(
        `--server ${options.server} is outside the Docker build context ${options.contextDir}`,
      );
    }
    const posix = relative.split(path.sep).join('/');
    const folder = path.posix.dirname(posix);
    // Copy the module's folder so its relative imports come along; a module at the root comes alone.
    context.serverCopy = folder === '.' ? posix : folder;
    context.serverPathInImage = `/app/${posix}`;
  }
  return context;
}
