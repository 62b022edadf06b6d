import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startServe, type TestCluster } from '../helpers/cluster.js';
import { KEYS, modernCall, writeApiKeys } from '../helpers/limits-fixtures.js';
import { startWorkerProcess } from '../helpers/roles.js';

const run = promisify(execFile);

describe('serve with auth and limits, and `mcp-scale limits` against it (real processes)', () => {
  let cluster: TestCluster;
  let apiKeys: string;
  /** The CLI finds the running cluster's Redis through its state file (no --redis, no REDIS_URL). */
  const cli = async (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, MCP_SCALE_HOME: cluster.home };
    delete env.REDIS_URL;
    try {
      const { stdout } = await run(process.execPath, [CLI, 'limits', ...args], { env });
      return { code: 0, stdout, stderr: '' };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const call = (id: number, tool = 'get_product', args: Record<string, unknown> = { id: 'p00001' }) =>
    modernCall(cluster.url, id, tool, args, { 'x-api-key': KEYS.alice });

  beforeAll(async () => {
    apiKeys = writeApiKeys('lines');
    cluster = await startServe([
      '--instances',
      '1',
      '--backend-latency',
      '0',
      '--auth',
      'apikey',
      '--api-keys',
      apiKeys,
      '--rate-limit',
      '3/1m',
      '--tool-limit',
      'search_products=1/1m',
    ]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the flags reach the gateway process: 401 without a key, 429 after 3 calls, status reports the limiter', async () => {
    expect((await modernCall(cluster.url, 1, 'get_product', { id: 'p00001' })).status).toBe(401);
    for (let id = 1; id <= 3; id++) expect((await call(id)).status).toBe(200);
    const limited = await call(4);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toBe('"user";q=3;w=60');
    const status = (await fetch(cluster.url.replace(/\/mcp$/, '/_mcp-scale/status')).then((r) =>
      r.json(),
    )) as {
      limits: { degraded: boolean; detail: string };
    };
    expect(status.limits).toEqual({ degraded: false, detail: 'limits shared through Redis' });
  });

  it('limits show / list / reset find the Redis of the running cluster', async () => {
    const shown = await cli('show', 'user:alice', '--json');
    expect(shown.code).toBe(0);
    const summary = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      key: 'user:alice',
      policy: 'user',
      limit: { points: 3, windowMs: 60_000, blockMs: 0 },
      used: 3,
      counted: 4,
      remaining: 0,
      blocked: true,
    });
    expect(summary.resetsInMs as number).toBeGreaterThan(0);
    expect(summary.resetsInMs as number).toBeLessThanOrEqual(60_000);

    const human = await cli('show', 'user:alice');
    expect(human.stdout).toMatch(/^policy\s+user \(3 per 1m\)$/m);
    expect(human.stdout).toMatch(/^remaining\s+0$/m);
    expect(human.stdout).toMatch(/^blocked\s+yes/m);

    const listed = JSON.parse((await cli('list', '--json')).stdout) as { key: string }[];
    expect(listed.map((s) => s.key)).toContain('user:alice');

    const reset = await cli('reset', 'user:alice');
    expect(reset.stdout).toMatch(/^reset user:alice \(had used 3\/3 per 1m\)/);
    expect((await call(5)).status).toBe(200);
    expect(JSON.parse((await cli('show', 'user:alice', '--json')).stdout)).toMatchObject({
      used: 1,
      remaining: 2,
    });
  });

  it('per-tool keys, and a key that is not one exits 2', async () => {
    expect((await call(10, 'search_products', { query: 'kettle' })).status).toBe(200);
    const tool = JSON.parse((await cli('show', 'tool:search_products:alice', '--json')).stdout) as Record<
      string,
      unknown
    >;
    expect(tool).toMatchObject({
      policy: 'tool:search_products',
      used: 1,
      remaining: 0,
      limit: { points: 1 },
    });
    const bad = await cli('show', 'alice');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a limit key/);
  });

  it('a worker run on its own checks --auth itself', async () => {
    const worker = await startWorkerProcess({
      id: 'solo',
      prefix: 'limits-e2e:',
      args: ['--auth', 'apikey', '--api-keys', apiKeys, '--direct-workers'],
    });
    try {
      const denied = await modernCall(worker.url, 1, 'get_user', {});
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Bearer');
      const allowed = await modernCall(worker.url, 2, 'get_user', {}, { 'x-api-key': KEYS.bob });
      expect(allowed.status).toBe(200);
    } finally {
      await worker.stop();
    }
  });
});
