import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { scanKeys } from '../../src/redis/scan.js';
import { startCacheWorker } from '../helpers/cache-fixtures.js';
import { connectV1 } from '../helpers/clients.js';
import { CLI } from '../helpers/cluster.js';
import { startTestRedis } from '../helpers/redis.js';

const PREFIX = 'ccli:';
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('mcp-scale cache stats | list | flush', () => {
  let redis: LocalRedis;
  let client: RedisClient;

  /** Runs the CLI with stdin not a terminal (as in CI, or piped). */
  const cli = async (...args: string[]): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [
        CLI,
        'cache',
        ...args,
        '--redis',
        redis.url,
        '--prefix',
        PREFIX,
      ]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const count = async (pattern: string) => {
    let n = 0;
    for await (const _key of scanKeys(client, `${PREFIX}${pattern}`)) n++;
    return n;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, { offlineQueue: true });
    // Real traffic fills the cache: two products, one search, alice's and bob's profiles.
    const worker = await startCacheWorker({ id: 'w1', prefix: PREFIX, redisUrl: redis.url });
    const alice = await connectV1(worker.url, { signAs: 'alice' });
    const bob = await connectV1(worker.url, { signAs: 'bob' });
    for (const id of ['p00001', 'p00002', 'p00001']) {
      await alice.callTool({ name: 'get_product', arguments: { id } });
    }
    await alice.callTool({ name: 'search_products', arguments: { query: 'lamp', limit: 10 } });
    await alice.callTool({ name: 'get_user', arguments: {} });
    await alice.callTool({ name: 'get_user', arguments: {} });
    await bob.callTool({ name: 'get_user', arguments: {} });
    await Promise.all([alice.close(), bob.close()]);
    await worker.close(); // flushes the hit/miss counters to Redis
    // Keys flush must never touch.
    await client.set(`${PREFIX}session:keep-me`, '1');
    await client.set(`${PREFIX}rl:user:alice`, '1');
  });
  afterAll(async () => {
    await closeRedis(client);
    await redis?.close();
  });

  it('stats: entries, memory and hit ratio per tool', async () => {
    const json = await cli('stats', '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      entries: number;
      memoryBytes: number;
      tools: { tool: string; entries: number; hits: number; misses: number; hitRatio: number | null }[];
    };
    expect(report.entries).toBe(5);
    expect(report.memoryBytes).toBeGreaterThan(0);
    const byTool = Object.fromEntries(report.tools.map((t) => [t.tool, t]));
    expect(byTool.get_product).toMatchObject({ entries: 2, hits: 1, misses: 2 });
    expect(byTool.get_product!.hitRatio).toBeCloseTo(1 / 3);
    expect(byTool.get_user).toMatchObject({ entries: 2, hits: 1, misses: 2 });
    expect(byTool.search_products).toMatchObject({ entries: 1, hits: 0, misses: 1, hitRatio: 0 });

    const human = await cli('stats');
    expect(human.stdout).toMatch(/^TOOL\s+ENTRIES\s+MEMORY\s+HITS\s+MISSES\s+BYPASS\s+HIT RATIO$/m);
    expect(human.stdout).toMatch(/^get_product\s+2\s+.+\s+1\s+2\s+0\s+33\.3%$/m);
    expect(human.stdout).toContain('5 entries');
  });

  it('list: keys with their TTLs, by tool, by user, limited', async () => {
    const products = JSON.parse((await cli('list', '--tool', 'get_product', '--json')).stdout) as {
      tool: string;
      ttlMs: number;
      args: { id: string };
      scope: string;
    }[];
    expect(products.map((e) => e.args.id).sort()).toEqual(['p00001', 'p00002']);
    for (const entry of products) {
      expect(entry).toMatchObject({ tool: 'get_product', scope: 'public' });
      expect(entry.ttlMs).toBeGreaterThan(0);
      expect(entry.ttlMs).toBeLessThanOrEqual(300_000);
    }
    const alice = JSON.parse((await cli('list', '--user', 'alice', '--json')).stdout) as {
      tool: string;
      user: string;
    }[];
    expect(alice).toEqual([expect.objectContaining({ tool: 'get_user', user: 'alice' })]);
    expect(JSON.parse((await cli('list', '--limit', '2', '--json')).stdout)).toHaveLength(2);
    const human = await cli('list', '--tool', 'get_user');
    expect(human.stdout).toMatch(/^TOOL\s+SCOPE\s+ERA\s+EXPIRES IN\s+SIZE\s+ARGUMENTS$/m);
    // A 10m TTL, minus however long the CLI runs took on a loaded machine (a generous minute).
    expect(human.stdout).toMatch(/^get_user\s+user alice\s+2025\s+(9m\d\ds|10m)\s/m);
    expect(human.stdout).toContain('2 entries');
  });

  it('flush refuses without --yes when there is no terminal to ask on (exit 2), removing nothing', async () => {
    const refused = await cli('flush', '--tool', 'get_product');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to flush without --yes');
    expect(await count('cache:get_product:*')).toBe(2);
    const unspecific = await cli('flush', '--yes');
    expect(unspecific.code).toBe(2);
    expect(unspecific.stderr).toContain('say what to flush');
    expect((await cli('flush', '--all', '--tool', 'x', '--yes')).code).toBe(2);
  });

  it('flush by tool, by user and --all, with --dry-run; sessions and limits stay', async () => {
    const dry = await cli('flush', '--tool', 'get_product', '--dry-run');
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout.trim()).toBe('would remove 2 cache entries (tool get_product)');
    expect(await count('cache:get_product:*')).toBe(2);

    const byTool = await cli('flush', '--tool', 'get_product', '--yes');
    expect(byTool.stdout.trim()).toBe('removed 2 cache entries (tool get_product)');
    expect(await count('cache:get_product:*')).toBe(0);
    expect(await count('cache:*')).toBe(3);

    const byUser = await cli('flush', '--user', 'bob', '--yes', '--json');
    expect(JSON.parse(byUser.stdout)).toMatchObject({
      matched: 1,
      removed: 1,
      dryRun: false,
      filter: { user: 'bob' },
    });
    expect(await count('cache:get_user:user.alice:*')).toBe(1);
    expect(await count('cache:get_user:user.bob:*')).toBe(0);

    const all = await cli('flush', '--all', '--yes');
    expect(all.stdout.trim()).toBe('removed 2 cache entries (all)');
    expect(await count('cache:*')).toBe(0);
    expect(await client.exists(`${PREFIX}session:keep-me`, `${PREFIX}rl:user:alice`)).toBe(2);
    expect((await cli('flush', '--all', '--yes')).stdout.trim()).toBe('removed 0 cache entries (all)');
  });
});
