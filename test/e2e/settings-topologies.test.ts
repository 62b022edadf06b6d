import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startServe, type TestCluster } from '../helpers/cluster.js';
import { KEYS, modernCall, post, writeApiKeys } from '../helpers/limits-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { waitForExit } from '../../src/util/process.js';

const ADMIN_TOKEN = 'admin-token-for-the-proc-check';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

/**
 * Issue 14, symptom 1: with a balancer that reaches workers directly, the
 * gateway's auth and limits were never applied. The workers enforce them now.
 */
describe('serve --lb nginx --affinity session --auth apikey --rate-limit: the workers enforce both', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startServe([
      '--instances',
      '2',
      '--backend-latency',
      '0',
      '--lb',
      'nginx',
      '--affinity',
      'session',
      '--auth',
      'apikey',
      '--api-keys',
      writeApiKeys(),
      '--rate-limit',
      '3/1m',
      '--admin-token',
      ADMIN_TOKEN,
      '--cache-ttl',
      'get_product=1m',
    ]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('an initialize without a key gets 401 through nginx; with a key, a session', async () => {
    const refused = await post(cluster.url, INITIALIZE);
    expect(refused.status).toBe(401);
    const accepted = await post(cluster.url, INITIALIZE, { 'x-api-key': KEYS.alice });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('mcp-session-id')).toMatch(/^w[12]\./);
  });

  it('each child got its settings: worker argv carries auth, limits and cache; secrets only its environment', () => {
    const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const environ = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    for (const worker of cluster.info.instances) {
      const argv = cmdline(worker.pid);
      expect(argv).toContain('--auth apikey');
      expect(argv).toContain('--rate-limit 3/1m');
      expect(argv).toContain('--cache-ttl get_product=1m');
      expect(argv).toContain('--trust-proxy');
      expect(argv).not.toContain(ADMIN_TOKEN);
      const env = environ(worker.pid);
      expect(env).toContain(`MCP_SCALE_ADMIN_TOKEN=${ADMIN_TOKEN}`);
      expect(env.some((line) => line.startsWith('MCP_SCALE_CLUSTER_SECRET='))).toBe(true);
    }
    const gatewayArgv = cmdline(cluster.info.gateway.pid);
    expect(gatewayArgv).toContain('--rate-limit 3/1m');
    expect(gatewayArgv).not.toContain('--cache-ttl');
    expect(gatewayArgv).not.toContain(ADMIN_TOKEN);
  });

  it('the per-user limit is counted once across both workers (Redis): 3 admitted, then 429', async () => {
    const statuses: number[] = [];
    const workers = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const response = await modernCall(
        cluster.url,
        i,
        'get_product',
        { id: 'p00001' },
        { 'x-api-key': KEYS.bob },
      );
      statuses.push(response.status);
      workers.add(response.headers.get('mcp-scale-instance') ?? '?');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(workers.size).toBeGreaterThanOrEqual(1);
  });
});

describe('a topology refuses a setting it cannot honour, in one line, before starting anything', () => {
  function serve(...args: string[]) {
    const run = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: run.status, stderr: run.stderr.trim() };
  }

  it.each([
    [
      ['--lb', 'nginx', '--affinity', 'session', '--cors-origin', 'https://app.example'],
      '--cors-origin is a gateway setting, and in serve --lb nginx --affinity session the balancer reaches the workers directly',
    ],
    [
      [
        '--lb',
        'haproxy',
        '--affinity',
        'ip',
        '--server-cmd',
        'node server.js {port}',
        '--auth',
        'apikey',
        '--api-keys',
        'k.txt',
      ],
      '--auth: in serve --lb haproxy --affinity ip --server-cmd the balancer sends requests straight to your --server-cmd workers and nothing would enforce it',
    ],
    [
      ['--server-cmd', 'node server.js {port}', '--cache-ttl', 'get_product=1m'],
      "--cache-ttl needs mcp-scale's worker host",
    ],
    [['--gateways', '2', '--redis', 'memory'], '--gateways 2 needs Redis: in memory mode'],
    [['--affinity', 'ip'], '--affinity ip says how a load balancer keeps sessions: add --lb'],
  ])('serve %j', (args, message) => {
    const { code, stderr } = serve(...args);
    expect(code).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });
});

/** Issue 14, symptom 3: separate roles without the shared secret used to answer 403 to everything. */
describe('a gateway whose port is taken', () => {
  it('names the port that was taken, --port or --admin-port, in one line', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as net.AddressInfo).port;
    const env = { ...process.env, MCP_SCALE_CLUSTER_SECRET: 's'.repeat(40) };
    const base = [CLI, 'gateway', '--host', '127.0.0.1', '--worker', 'w1=http://127.0.0.1:9/mcp'];
    try {
      const run = spawnSync(process.execPath, [...base, '--port', String(taken)], {
        encoding: 'utf8',
        timeout: 30_000,
        env,
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(`mcp-scale: port ${taken} is already in use (--port)`);
      // The admin port: the same line and exit code, and nothing left running (it used to hang).
      const admin = spawnSync(process.execPath, [...base, '--port', '0', '--admin-port', String(taken)], {
        encoding: 'utf8',
        timeout: 30_000,
        env,
      });
      expect(admin.status, admin.stderr).toBe(2);
      expect(admin.stderr.trim()).toBe(`mcp-scale: port ${taken} is already in use (--admin-port)`);
    } finally {
      busy.close();
    }
  });
});

describe('separate roles without MCP_SCALE_CLUSTER_SECRET', () => {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_SCALE_')),
  );
  function role(...args: string[]) {
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env });
    return { code: run.status, stderr: run.stderr.trim() };
  }

  it.each([
    [['gateway', '--port', '0', '--worker', 'w1=http://127.0.0.1:9/mcp']],
    [['worker', '--port', '0', '--redis', 'redis://127.0.0.1:9']],
    [['worker', '--port', '0', '--advertise-url', 'http://10.0.0.7:3000/mcp']],
  ])('%j stops at start-up with one line', (args) => {
    const { code, stderr } = role(...args);
    expect(code).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toContain('set MCP_SCALE_CLUSTER_SECRET to the same value');
  });

  it('a lone worker, a plain server without a gateway, still starts and serves', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'worker', '--port', '0', '--id', 'alone', '--backend-latency', '0', '--direct-workers'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitUntil(() => / ready on (\S+)/.test(out), 'the lone worker to be ready', 30_000);
      const url = / ready on (\S+)/.exec(out)?.[1] ?? '';
      const response = await modernCall(url, 1, 'get_product', { id: 'p00001' });
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child.pid!, 10_000);
    }
  });
});
