import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { CacheConfig } from '../../src/config/cluster-config.js';
import type { WorkerHost, WorkerHostOptions } from '../../src/worker/host.js';
import type { ServerFactory } from '../../src/worker/server-module.js';
import { startTestWorkerHost } from './roles.js';
import { waitUntil } from './wait.js';

/**
 * An in-process worker host with test defaults (demo shop, no backend
 * latency), resolved once /readyz says its Redis is connected: before that
 * the cache rightly bypasses Redis, which would blur what a test measures.
 */
export async function startCacheWorker(
  overrides: Partial<WorkerHostOptions> & Pick<WorkerHostOptions, 'id' | 'prefix'>,
): Promise<WorkerHost> {
  const worker = await startTestWorkerHost({
    // A generous cache timeout: on a loaded 2-core machine a 50 ms one makes
    // hit/miss assertions flaky. Tests of the bypass itself set it.
    cache: cacheConfig(),
    // Cache tests call the worker directly (signAs gives a signed user when they need one).
    acceptUnsigned: true,
    ...overrides,
  });
  await waitUntil(
    async () => (await fetch(worker.url.replace(/\/mcp$/, '/readyz'))).status === 200,
    `worker ${worker.id} ready`,
    10_000,
  );
  return worker;
}

export function cacheConfig(partial: Partial<CacheConfig> = {}): CacheConfig {
  return { ttlMs: {}, scope: {}, force: [], timeoutMs: 1000, ...partial };
}

/** How many times each tool's handler really ran (the backend calls), across every worker sharing it. */
export type BackendCounts = Record<string, number>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A server module (either SDK line) whose handlers count their calls:
 *   lookup       read-only, echoes its arguments
 *   slow_read    read-only, answers after `slowMs`
 *   write_thing  not read-only
 *   fail_read    read-only, answers isError: true
 */
export function countingServer(sdk: 'v1' | 'v2', counts: BackendCounts, slowMs = 300): ServerFactory {
  const ran = (tool: string) => (counts[tool] = (counts[tool] ?? 0) + 1);
  const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });
  const readOnly = { readOnlyHint: true };
  return () => {
    const server =
      sdk === 'v2'
        ? new McpServerV2({ name: 'counting', version: '1.0.0' })
        : new McpServerV1({ name: 'counting', version: '1.0.0' });
    // The two lines' registerTool signatures agree for this use.
    const register = server.registerTool.bind(server) as unknown as (
      name: string,
      config: Record<string, unknown>,
      handler: (args: Record<string, unknown>) => Promise<unknown>,
    ) => void;
    register(
      'lookup',
      {
        inputSchema: { a: z.number().optional(), b: z.number().optional(), nested: z.any().optional() },
        annotations: readOnly,
      },
      async (args) => text({ call: ran('lookup'), args }),
    );
    register('slow_read', { inputSchema: { key: z.string() }, annotations: readOnly }, async ({ key }) => {
      await sleep(slowMs);
      return text({ call: ran('slow_read'), key });
    });
    register(
      'write_thing',
      { inputSchema: { key: z.string() }, annotations: { readOnlyHint: false } },
      async ({ key }) => text({ call: ran('write_thing'), key }),
    );
    register('fail_read', { inputSchema: { key: z.string() }, annotations: readOnly }, async () => {
      ran('fail_read');
      return { isError: true, content: [{ type: 'text', text: 'backend says no' }] };
    });
    return server;
  };
}
