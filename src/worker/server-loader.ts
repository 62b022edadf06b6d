import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';
import type { ServerFactory, ServerFactoryContext } from './server-module.js';

/** Which SDK line built the server: decides how the worker host serves it. */
export type SdkLine = 'v1' | 'v2';

/** The structural surface the host uses, common to McpServer of both SDK lines. */
export interface HostedMcpServer {
  connect(transport: unknown): Promise<void>;
  close(): Promise<void>;
  server: object;
}

export interface LoadedServer {
  /** Human name for banners: `demo` or the module path. */
  name: string;
  sdk: SdkLine;
  create(ctx: ServerFactoryContext): Promise<HostedMcpServer>;
}

/**
 * Loads a user's module (`--server ./module.js`): default export or
 * `createServer`, a factory of McpServer (SDK 1.x or v2). The SDK line is
 * detected once from a probe instance, by a method only v2's Server has.
 */
export async function loadServerModule(
  modulePath: string,
  probeCtx: ServerFactoryContext,
): Promise<LoadedServer> {
  const resolved = path.resolve(modulePath);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`cannot load server module ${modulePath}: ${(error as Error).message}`);
  }
  const factory = (module.default ?? module.createServer) as ServerFactory | undefined;
  if (typeof factory !== 'function') {
    throw new UserError(
      `server module ${modulePath} must export a factory (default export or createServer) returning an McpServer`,
    );
  }
  return fromFactory(modulePath, factory, probeCtx);
}

export async function fromFactory(
  name: string,
  factory: ServerFactory,
  probeCtx: ServerFactoryContext,
): Promise<LoadedServer> {
  const create = async (ctx: ServerFactoryContext): Promise<HostedMcpServer> => {
    const server = (await factory(ctx)) as HostedMcpServer;
    if (!server || typeof server.connect !== 'function' || typeof server.server !== 'object') {
      throw new UserError(
        `the factory of ${name} must return an McpServer (from @modelcontextprotocol/sdk or /server)`,
      );
    }
    return server;
  };
  const probe = await create(probeCtx);
  const sdk = detectSdkLine(probe);
  await probe.close().catch(() => {});
  return { name, sdk, create };
}

export function detectSdkLine(server: HostedMcpServer): SdkLine {
  const inner = server.server as { getNegotiatedProtocolVersion?: unknown };
  return typeof inner.getNegotiatedProtocolVersion === 'function' ? 'v2' : 'v1';
}
