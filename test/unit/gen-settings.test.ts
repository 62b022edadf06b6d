import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { main } from '../../src/cli/main.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import { runGen } from '../../src/gen/gen-command.js';
import { REPO_ROOT } from '../helpers/lb-gen-cases.js';

/**
 * Issue 14, symptom 2: `gen compose --config cfg.json` dropped auth, limits
 * and cache. The generated YAML is parsed and its container args, env and
 * Secrets read.
 */
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-gen-settings-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const ADMIN_TOKEN = 'admin-token-0123456789';
const SETTINGS = {
  auth: 'apikey',
  apiKeys: '/run/secrets/api-keys',
  apiKeysSecret: 'placeholder',
  rateLimit: '60/1m',
  toolLimit: { search_products: '10/1m' },
  cacheTtl: { get_product: '5m' },
  sessionTtl: '30m',
  adminToken: ADMIN_TOKEN,
  redis: 'rediss://default:hunter2@redis.example.com:6380',
};

function quiet() {
  const sink = new PassThrough();
  sink.resume();
  return { stdout: sink, stderr: sink };
}

async function generate(target: 'compose' | 'k8s', settings: Record<string, unknown>) {
  const file = path.join(dir, 'cfg.json');
  fs.writeFileSync(file, JSON.stringify(settings));
  const out = path.join(dir, 'out');
  const config = resolveClusterConfig({ command: 'gen', configFile: file, env: {} });
  await runGen(target, { config, out, context: REPO_ROOT, check: true }, quiet());
  return out;
}

type Service = { command: string[]; secrets?: { source: string; target: string }[] };

describe('gen writes every gateway and worker setting of the config file', () => {
  it('compose: args per role, secrets in .env and a compose secret, nothing secret in argv', async () => {
    const out = await generate('compose', SETTINGS);
    const compose = YAML.parse(fs.readFileSync(path.join(out, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Service>;
      secrets: Record<string, { file: string }>;
    };
    const gateway = compose.services['gateway-1']!;
    const worker = compose.services['worker-1']!;
    expect(gateway.command).toEqual(
      expect.arrayContaining([
        '--auth',
        'apikey',
        '--api-keys',
        '/run/secrets/api-keys',
        '--rate-limit',
        '60/1m',
      ]),
    );
    expect(gateway.command.join(' ')).toContain('--tool-limit search_products=10/1m');
    expect(gateway.command.join(' ')).toContain('--session-ttl 30m');
    expect(worker.command.join(' ')).toContain('--cache-ttl get_product=5m');
    expect(worker.command.join(' ')).toContain('--session-ttl 30m');
    // Behind gateways, workers trust the signed identity: no auth or limits of their own.
    expect(worker.command).not.toContain('--auth');
    expect(gateway.secrets).toEqual([{ source: 'api_keys', target: '/run/secrets/api-keys' }]);
    expect(compose.secrets).toEqual({ api_keys: { file: './api-keys.txt' } });
    expect(fs.readFileSync(path.join(out, 'api-keys.txt'), 'utf8')).toContain('Placeholder');
    const everyArg = Object.values(compose.services)
      .flatMap((s) => (Array.isArray(s.command) ? s.command : []))
      .join(' ');
    expect(everyArg).not.toContain(ADMIN_TOKEN);
    expect(everyArg).not.toContain('hunter2');
    const env = fs.readFileSync(path.join(out, '.env'), 'utf8');
    expect(env).toContain(`MCP_SCALE_ADMIN_TOKEN='${ADMIN_TOKEN}'`);
    expect(env).toContain("MCP_SCALE_REDIS_URL='rediss://default:hunter2@redis.example.com:6380'");
  });

  it('compose with direct affinity: the workers authenticate and limit, with the keys mounted', async () => {
    const out = await generate('compose', { ...SETTINGS, affinity: 'ip', apiKeysSecret: 'my-keys' });
    const compose = YAML.parse(fs.readFileSync(path.join(out, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Service>;
      secrets: Record<string, { file: string }>;
    };
    expect(compose.services['gateway-1']).toBeUndefined();
    const worker = compose.services['worker-1']!;
    expect(worker.command).toEqual(
      expect.arrayContaining(['--auth', 'apikey', '--rate-limit', '60/1m', '--trust-proxy']),
    );
    expect(worker.secrets).toEqual([{ source: 'api_keys', target: '/run/secrets/api-keys' }]);
    expect(compose.secrets).toEqual({ api_keys: { file: './my-keys' } });
    expect(fs.existsSync(path.join(out, 'api-keys.txt')), 'no placeholder for a named source').toBe(false);
  });

  it('k8s: args, env from the Secret, the keys Secret mounted', async () => {
    const out = await generate('k8s', SETTINGS);
    const docs = (name: string) =>
      YAML.parseAllDocuments(fs.readFileSync(path.join(out, 'k8s', name), 'utf8')).map(
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests read by shape; the expects check them
        (d) => d.toJSON() as Record<string, any>,
      );
    const gatewayPod = docs('gateways.yaml')[0]!.spec.template.spec;
    const container = gatewayPod.containers[0];
    expect(container.args).toEqual(expect.arrayContaining(['--auth', 'apikey', '--rate-limit', '60/1m']));
    expect(container.args.join(' ')).not.toContain(ADMIN_TOKEN);
    const fromSecret = Object.fromEntries(
      (container.env as { name: string; valueFrom: { secretKeyRef: { key: string } } }[]).map((e) => [
        e.name,
        e.valueFrom.secretKeyRef.key,
      ]),
    );
    expect(fromSecret).toEqual({
      MCP_SCALE_ADMIN_TOKEN: 'admin-token',
      MCP_SCALE_CLUSTER_SECRET: 'cluster-secret',
      MCP_SCALE_REDIS_URL: 'redis-url',
    });
    // Beside the /tmp emptyDir every pod has (read-only root filesystem).
    expect(container.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'api-keys', mountPath: '/run/secrets/api-keys', subPath: 'api-keys', readOnly: true },
    ]);
    expect(gatewayPod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'api-keys', secret: { secretName: 'mcp-scale-api-keys' } },
    ]);
    const secret = docs('secret.yaml')[0]!;
    expect(secret.stringData).toMatchObject({ 'admin-token': ADMIN_TOKEN, 'redis-url': SETTINGS.redis });
    expect(docs('api-keys.yaml')[0]!.stringData['api-keys']).toContain('Placeholder');
    const workerArgs: string[] = docs('workers.yaml')[0]!.spec.template.spec.containers[0].args;
    expect(workerArgs.join(' ')).toContain('--cache-ttl get_product=5m');
  });
});

describe('gen refuses auth without a source for its keys', () => {
  async function cli(...args: string[]) {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await main(['node', 'mcp-scale', 'gen', ...args]);
    return { code: process.exitCode === undefined ? 0 : Number(process.exitCode), stderr: stderr.trim() };
  }

  it.each([
    [
      ['compose', '--auth', 'apikey', '--api-keys', '/run/keys'],
      '--auth apikey needs --api-keys-secret NAME',
    ],
    [
      ['k8s', '--auth', 'apikey', '--api-keys', 'keys.txt', '--api-keys-secret', 'k'],
      'give an absolute path',
    ],
    [['compose', '--auth', 'jwt'], '--auth jwt needs --jwt-secret or --jwks-url'],
    [['compose', '--affinity', 'ip', '--cors-origin', '*'], '--cors-origin is a gateway setting'],
  ])('%j: exit 2, one line', async (args, message) => {
    const { code, stderr } = await cli(...args, '--out', dir);
    expect(code).toBe(2);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });
});
