import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OperationalError, UserError } from '../../src/errors.js';
import { runGen, type GenRequest } from '../../src/gen/gen-command.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import type { SettingInputs } from '../../src/config/settings/types.js';
import { parseProxyRateLimit, resolveGenOptions } from '../../src/gen/options.js';
import { REPO_ROOT } from '../helpers/lb-gen-cases.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-gen-cli-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}

describe('resolveGenOptions: flags, config file and environment', () => {
  it('maps flags (raw strings, as commander passes them) to options', () => {
    const options = resolveGenOptions({
      flags: {
        instances: '4',
        affinity: 'session',
        maxBody: '8mb',
        port: '443',
        serverName: 'a.example.com b.example.com',
        nginxRateLimit: '600r/m',
        upstream: ['w1=10.0.0.1:3000', '10.0.0.2:3000'],
        minReplicas: '2',
        streamTimeout: '2h',
      },
      context: REPO_ROOT,
      env: {},
    });
    expect(options).toMatchObject({
      instances: 4,
      affinity: 'session',
      maxBodyBytes: 8 * 1024 * 1024,
      port: 443,
      serverName: 'a.example.com b.example.com',
      rateLimit: { nginxRate: '10r/s', perSecond: 10, burst: 20 },
      upstreams: [
        { id: 'w1', host: '10.0.0.1', port: 3000 },
        { id: 'u2', host: '10.0.0.2', port: 3000 },
      ],
      minReplicas: 2,
      maxReplicas: 10,
      streamTimeoutMs: 7_200_000,
      contextDir: REPO_ROOT,
    });
    expect(Buffer.byteLength(options.clusterSecret)).toBeGreaterThanOrEqual(32);
  });

  it('reads gen keys from the config file; env beats the file; flags beat both', () => {
    const file = path.join(dir, 'mcp-scale.config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        instances: 5,
        serverName: 'file.example.com',
        image: 'file/image:1',
        clusterSecret: 'f'.repeat(40),
      }),
    );
    const options = resolveGenOptions({
      configFile: file,
      flags: { image: 'flag/image:2' },
      env: { MCP_SCALE_CLUSTER_SECRET: 'e'.repeat(40) },
    });
    expect(options).toMatchObject({
      instances: 5,
      serverName: 'file.example.com',
      image: 'flag/image:2',
      clusterSecret: 'e'.repeat(40),
    });
  });

  it.each([
    ['10r/s', '10r/s', 10],
    ['30r/m', '30r/m', 0.5],
    ['10/1s', '10r/s', 10],
    ['1/2s', '30r/m', 0.5],
    ['100/1m', '100r/m', 100 / 60],
  ])('rate %s is nginx %s', (input, nginxRate, perSecond) => {
    const limit = parseProxyRateLimit(input);
    expect(limit.nginxRate).toBe(nginxRate);
    expect(limit.perSecond).toBeCloseTo(perSecond);
  });

  it.each([
    [{ tlsCert: '/a.pem' }, '--tls-cert and --tls-key go together'],
    [{ upstream: ['w 1=h:1'] }, 'invalid --upstream'],
    [{ upstream: ['w1=a:1', 'w1=b:2'] }, "id 'w1' is used twice"],
    [{ redis: 'memory' }, '--redis memory'],
    [{ redis: 'http://x' }, 'redis:// or rediss://'],
    [{ serverName: 'a;b' }, '--server-name'],
    [{ image: 'a b' }, '--image'],
    [{ cpuTarget: '150' }, '--cpu-target'],
    [{ nginxRateLimit: 'fast' }, '10r/s, 600r/m or 10/1s'],
  ])('rejects %j', (flags: SettingInputs, message) => {
    expect(() => resolveGenOptions({ flags, env: {} })).toThrow(UserError);
    expect(() => resolveGenOptions({ flags, env: {} })).toThrow(message);
  });
});

/** A gen request from setting flags, as the CLI resolves it. */
function genRequest(flags: SettingInputs, rest: Omit<GenRequest, 'config'> = {}): GenRequest {
  return { config: resolveClusterConfig({ command: 'gen', flags, env: {} }), ...rest };
}

describe('runGen', () => {
  it('writes the files of a target, secrets 0600, and reports them', async () => {
    const { io, out } = capture();
    const result = await runGen('compose', genRequest({}, { out: dir, context: REPO_ROOT }), io);
    expect(result.files.map((f) => path.relative(dir, f.path)).sort()).toEqual(
      ['.env', 'Dockerfile', 'Dockerfile.dockerignore', 'compose.yaml', 'nginx.conf'].sort(),
    );
    expect(fs.statSync(path.join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'compose.yaml')).mode & 0o777).toBe(0o644);
    expect(out()).toContain('compose.yaml');
  });

  it('prints to stdout with --out -, one file as is, several with separators', async () => {
    const single = capture();
    await runGen('nginx', genRequest({}), single.io);
    expect(single.out().startsWith('# mcp-scale gen nginx')).toBe(true);
    const several = capture();
    await runGen('docker', genRequest({}, { out: '-', context: REPO_ROOT }), several.io);
    expect(several.out()).toContain('# ==> Dockerfile <==\n');
    expect(several.out()).toContain('\n# ==> Dockerfile.dockerignore <==\n');
  });

  it('warns on stderr about ip affinity and clients behind one NAT', async () => {
    const { io, err } = capture();
    const result = await runGen('haproxy', genRequest({ affinity: 'ip' }), io);
    expect(err()).toContain('NAT');
    expect(result.warnings.join(' ')).toContain('NAT');
  });

  it('--check reports every check and fails when one fails', async () => {
    const good = capture();
    const result = await runGen('nginx', genRequest({}, { out: dir, check: true }), good.io);
    expect(result.checks?.map((c) => c.status)).toEqual(['passed']);
    expect(good.out()).toMatch(/^ok {3}nginx\.conf: nginx -t: ok/m);
    const bad = capture();
    const missingCert = genRequest(
      { tlsCert: path.join(dir, 'no.pem'), tlsKey: path.join(dir, 'no.key') },
      { out: dir, check: true },
    );
    await expect(runGen('nginx', missingCert, bad.io)).rejects.toThrow(OperationalError);
    expect(bad.out()).toMatch(/^FAIL nginx\.conf: nginx -t: .*no\.pem/m);
  });

  it('--json prints one JSON report', async () => {
    const { io, out } = capture();
    await runGen('haproxy', genRequest({}, { out: dir, json: true, check: true }), io);
    const report = JSON.parse(out()) as { target: string; checks: { check: string; status: string }[] };
    expect(report.target).toBe('haproxy');
    expect(report.checks).toEqual([expect.objectContaining({ check: 'haproxy -c', status: 'passed' })]);
  });
});

describe('mcp-scale gen on the command line', () => {
  async function cli(...args: string[]): Promise<{ code: number | undefined; stderr: string }> {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await main(['node', 'mcp-scale', 'gen', ...args]);
    const code = process.exitCode === undefined ? undefined : Number(process.exitCode);
    return { code, stderr };
  }

  it.each([
    [['nginx', '--affinity', 'sticky'], 'sticky'],
    [['bogus'], 'bogus'],
    [['nginx', '--instances', 'many'], 'many'],
    [['nginx', '--tls-key', '/k.pem'], '--tls-cert and --tls-key go together'],
  ])('bad input %j: one line, exit 2', async (args, mentions) => {
    const { code, stderr } = await cli(...args);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(mentions);
  });

  it('writes a target into --out', async () => {
    const { code } = await cli('haproxy', '--out', dir, '--affinity', 'session');
    expect(code ?? 0).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'haproxy.cfg'), 'utf8')).toContain(
      'use-server w1 if { req.hdr(mcp-session-id),field(1,.) -m str w1 }',
    );
  });
});

describe('stable secrets: re-running gen never silently rotates', () => {
  const secretsIn = (out: string) => {
    const env = fs.readFileSync(path.join(out, '.env'), 'utf8');
    const yaml = fs.readFileSync(path.join(out, 'k8s/secret.yaml'), 'utf8');
    const cluster = /^MCP_SCALE_CLUSTER_SECRET='?([^'\n]+)'?$/m.exec(env)?.[1];
    const redis = /^MCP_SCALE_REDIS_PASSWORD='?([^'\n]+)'?$/m.exec(env)?.[1];
    expect(yaml).toContain(`cluster-secret: "${cluster}"`);
    expect(yaml).toContain(`redis-password: "${redis}"`);
    expect(yaml).toContain(`redis-url: "redis://:${redis}@mcp-scale-redis:6379"`);
    return { cluster, redis };
  };

  it('a second run keeps both secrets; --rotate-secret changes them and says so', async () => {
    const first = capture();
    const one = await runGen('all', genRequest({}, { out: dir }), first.io);
    expect(one.secret).toBe('new');
    const before = secretsIn(dir);
    expect(Buffer.byteLength(before.cluster ?? '')).toBeGreaterThanOrEqual(32);

    const second = capture();
    const two = await runGen('all', genRequest({ instances: '5' }, { out: dir }), second.io);
    expect(two.secret).toBe('existing');
    expect(second.out()).toContain('cluster secret: kept from');
    expect(secretsIn(dir)).toEqual(before);

    const rotate = capture();
    const three = await runGen('all', genRequest({}, { out: dir, rotateSecret: true }), rotate.io);
    expect(three.secret).toBe('rotated');
    const after = secretsIn(dir);
    expect(after.cluster).not.toBe(before.cluster);
    expect(after.redis).not.toBe(before.redis);
  });

  it('--redis ha: both Redis passwords are kept like the cluster secret, and rotate with it', async () => {
    const haSecretsIn = (out: string) => {
      const env = fs.readFileSync(path.join(out, '.env'), 'utf8');
      const yaml = fs.readFileSync(path.join(out, 'k8s/secret.yaml'), 'utf8');
      const redis = /^MCP_SCALE_REDIS_PASSWORD='([0-9a-f]{48})'$/m.exec(env)?.[1];
      const sentinel = /^MCP_SCALE_SENTINEL_PASSWORD='([0-9a-f]{48})'$/m.exec(env)?.[1];
      expect(redis).toBeDefined();
      expect(sentinel).toBeDefined();
      expect(sentinel).not.toBe(redis);
      // compose and k8s get the same passwords, and the URLs carry them.
      expect(yaml).toContain(`redis-password: "${redis}"`);
      expect(yaml).toContain(`sentinel-password: "${sentinel}"`);
      expect(env).toContain(`redis-sentinel://:${redis}@`);
      expect(env).toContain(`sentinelPassword=${sentinel}`);
      return { redis, sentinel };
    };
    await runGen('all', genRequest({ redis: 'ha' }, { out: dir }), capture().io);
    const before = haSecretsIn(dir);
    await runGen('all', genRequest({ redis: 'ha', instances: '5' }, { out: dir }), capture().io);
    expect(haSecretsIn(dir)).toEqual(before);
    // k8s alone reads them back from its Secret.
    fs.rmSync(path.join(dir, '.env'));
    await runGen('k8s', genRequest({ redis: 'ha' }, { out: dir }), capture().io);
    expect(fs.readFileSync(path.join(dir, 'k8s/secret.yaml'), 'utf8')).toContain(
      `sentinel-password: "${before.sentinel}"`,
    );
    await runGen('all', genRequest({ redis: 'ha' }, { out: dir, rotateSecret: true }), capture().io);
    const after = haSecretsIn(dir);
    expect(after.redis).not.toBe(before.redis);
    expect(after.sentinel).not.toBe(before.sentinel);
  });

  it('k8s alone keeps the secret of an earlier k8s run; --cluster-secret-file wins over the folder', async () => {
    await runGen('k8s', genRequest({}, { out: dir }), capture().io);
    const yaml = () => fs.readFileSync(path.join(dir, 'k8s/secret.yaml'), 'utf8');
    const before = yaml();
    await runGen('k8s', genRequest({ maxBody: '8mb' }, { out: dir }), capture().io);
    expect(yaml()).toBe(before);

    const file = path.join(dir, 'secret.txt');
    fs.writeFileSync(file, 'from-a-file-0123456789abcdef-0123456789\n');
    const result = await runGen('k8s', genRequest({}, { out: dir, clusterSecretFile: file }), capture().io);
    expect(result.secret).toBe('file');
    expect(yaml()).toContain('cluster-secret: "from-a-file-0123456789abcdef-0123456789"');
  });

  it('refuses contradictions with one line each', async () => {
    fs.writeFileSync(path.join(dir, 'short.txt'), 'short');
    await expect(
      runGen(
        'k8s',
        genRequest({}, { out: dir, clusterSecretFile: path.join(dir, 'short.txt') }),
        capture().io,
      ),
    ).rejects.toThrow(/fewer than 32 bytes/);
    await expect(
      runGen(
        'k8s',
        genRequest({ clusterSecret: 'x'.repeat(40) }, { out: dir, rotateSecret: true }),
        capture().io,
      ),
    ).rejects.toThrow(/--rotate-secret/);
    // Two files from different runs disagree: which one the cluster runs with cannot be guessed.
    await runGen('compose', genRequest({}, { out: dir }), capture().io);
    fs.mkdirSync(path.join(dir, 'k8s'));
    fs.writeFileSync(
      path.join(dir, 'k8s/secret.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: mcp-scale\nstringData:\n  cluster-secret: "another-secret-0123456789abcdef-0123"\n',
    );
    await expect(runGen('all', genRequest({}, { out: dir }), capture().io)).rejects.toThrow(
      /hold different secrets/,
    );
  });
});
