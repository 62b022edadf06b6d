import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultClusterConfig,
  resolveSettings,
  roleInvocation,
  SETTINGS,
  settingsFor,
  showValue,
  getSetting,
} from '../../src/config/settings/index.js';
import { UserError } from '../../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-settings-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const SECRET = 's'.repeat(40);

describe('the settings registry', () => {
  it('declares each name, flag and environment variable once', () => {
    for (const key of ['name', 'flag', 'env'] as const) {
      const values = SETTINGS.map((s) => s[key]);
      expect(new Set(values).size, key).toBe(values.length);
    }
    for (const s of SETTINGS) {
      expect(s.flag).toMatch(/^[a-z][a-z-]*$/);
      expect(s.env).toMatch(/^MCP_SCALE_[A-Z_]+$/);
      expect(s.roles.length, s.name).toBeGreaterThan(0);
      expect(s.help.length, s.name).toBeGreaterThan(5);
    }
  });

  it('has per-command defaults: serve binds loopback with one gateway, gen 0.0.0.0 with two, a worker a free port', () => {
    expect(defaultClusterConfig('serve')).toMatchObject({ host: '127.0.0.1', gateways: 1, port: 8080 });
    expect(defaultClusterConfig('gen')).toMatchObject({ host: '0.0.0.0', gateways: 2 });
    expect(defaultClusterConfig('worker').port).toBe(0);
  });

  it('every default survives format → parse (what the supervisor hands a child means the same)', () => {
    for (const s of SETTINGS) {
      const value = s.default;
      if (value === undefined) continue;
      const formatted = s.codec.format(value);
      if (s.codec.placeholder === undefined || formatted.length === 0) continue;
      const back = s.codec.repeatable ? s.codec.parse(formatted) : s.codec.parse(formatted[0]);
      expect(back, s.name).toEqual(value);
    }
  });

  it('gives gateway, worker, serve and gen the settings their roles read', () => {
    const names = (command: Parameters<typeof settingsFor>[0]) => settingsFor(command).map((s) => s.name);
    expect(names('gateway')).toEqual(
      expect.arrayContaining(['rateLimit', 'auth', 'clusterSecret', 'trustProxy']),
    );
    expect(names('gateway')).not.toContain('cacheTtl');
    expect(names('worker')).toEqual(expect.arrayContaining(['cacheTtl', 'auth', 'apiKeys', 'server']));
    // A worker run alone (or reached directly by a balancer) authenticates and limits itself.
    expect(names('worker')).toEqual(expect.arrayContaining(['rateLimit', 'trustProxy']));
    expect(names('worker')).not.toContain('maxInflight');
    expect(names('worker')).not.toContain('corsOrigin');
    expect(names('serve')).toEqual(expect.arrayContaining(['lb', 'serverCmd', 'instances', 'rateLimit']));
    expect(names('serve')).not.toContain('image');
    expect(names('gen')).toEqual(
      expect.arrayContaining(['image', 'rateLimit', 'cacheTtl', 'auth', 'apiKeys']),
    );
    expect(names('gen')).not.toContain('serverCmd');
  });
});

describe('resolveSettings: defaults < file < env < flags', () => {
  it('takes JSON and YAML files with the flat camelCase keys and records each source', () => {
    const yamlFile = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(
      yamlFile,
      'instances: 4\nrateLimit: 60/1m\nsessionTtl: 30m\ntoolLimit:\n  search_products: 10/1m\ncacheTtl: { get_product: 5m }\n',
    );
    const resolved = resolveSettings({
      command: 'serve',
      configFile: yamlFile,
      env: { MCP_SCALE_INSTANCES: '5', MCP_SCALE_SESSION_TTL: '10m' },
      flags: { instances: '6', toolLimit: ['get_user=5/1s'] },
    });
    expect(resolved.config).toMatchObject({
      instances: 6,
      sessionTtlMs: 600_000,
      limits: {
        rateLimit: { points: 60, durationMs: 60_000 },
        toolLimits: {
          search_products: { points: 10, durationMs: 60_000 },
          get_user: { points: 5, durationMs: 1000 },
        },
      },
      cache: { ttlMs: { get_product: 300_000 } },
    });
    expect(resolved.sources).toMatchObject({
      instances: 'flag',
      sessionTtl: 'env',
      rateLimit: 'file',
      port: 'default',
    });

    const jsonFile = path.join(dir, 'cluster.json');
    fs.writeFileSync(jsonFile, JSON.stringify({ maxBody: '8mb', corsOrigin: ['https://a.example'] }));
    expect(resolveSettings({ command: 'gateway', configFile: jsonFile, env: {} }).config).toMatchObject({
      maxBodyBytes: 8 * 1024 * 1024,
      corsOrigins: ['https://a.example'],
    });
  });

  it.each([
    [{ rateLimit: 'fast' }, /config file .*cluster\.json: rateLimit: .*POINTS\/DURATION/],
    [{ instances: 'many' }, /config file .*cluster\.json: instances: expected a whole number from 1 to 64/],
    [{ sessions: 'sometimes' }, /sessions: expected one of stateful, stateless/],
    [{ bogus: 1 }, /config file .*cluster\.json: unknown key 'bogus'/],
    [{ toolLimit: { search: 'x' } }, /toolLimit: search: invalid rate 'x'/],
  ])('a bad file %j is one line naming file, key and form', (content, message) => {
    const file = path.join(dir, 'cluster.json');
    fs.writeFileSync(file, JSON.stringify(content));
    expect(() => resolveSettings({ command: 'serve', configFile: file, env: {} })).toThrow(UserError);
    expect(() => resolveSettings({ command: 'serve', configFile: file, env: {} })).toThrow(message);
  });

  it('names the variable or the flag a bad value came from', () => {
    expect(() => resolveSettings({ command: 'serve', env: { MCP_SCALE_SESSION_TTL: 'soon' } })).toThrow(
      /^MCP_SCALE_SESSION_TTL: invalid duration 'soon'/,
    );
    expect(() => resolveSettings({ command: 'serve', env: {}, flags: { maxBody: 'huge' } })).toThrow(
      /^--max-body: invalid size 'huge'/,
    );
  });
});

describe('roleInvocation: what a child role is told', () => {
  it('passes what differs from the role default; secrets by environment only', () => {
    const config = resolveSettings({
      command: 'serve',
      env: {},
      flags: {
        rateLimit: '60/1m',
        cacheTtl: ['get_product=5m'],
        adminToken: 'admin-token-value',
        auth: 'jwt',
        jwtSecret: 'jwt-secret-value',
        clusterSecret: SECRET,
        redis: 'redis://:hunter2@127.0.0.1:6379',
        trustProxy: true,
      },
    }).config;
    const gateway = roleInvocation(config, 'gateway');
    const worker = roleInvocation(config, 'worker');
    const direct = roleInvocation(config, 'worker', { direct: true });
    for (const args of [gateway.args, worker.args, direct.args]) {
      const joined = args.join(' ');
      for (const secret of ['admin-token-value', 'jwt-secret-value', SECRET, 'hunter2'])
        expect(joined).not.toContain(secret);
    }
    expect(gateway.args).toEqual(['--trust-proxy', '--auth', 'jwt', '--rate-limit', '60/1m']);
    // serve's port (8080) is not a worker's default (a free port); the supervisor overrides it.
    // Behind a gateway a worker trusts the signed identity; reached directly it authenticates and limits.
    expect(worker.args).toEqual(['--port', '8080', '--cache-ttl', 'get_product=5m']);
    expect(direct.args).toEqual([
      '--port',
      '8080',
      '--trust-proxy',
      '--auth',
      'jwt',
      '--rate-limit',
      '60/1m',
      '--cache-ttl',
      'get_product=5m',
    ]);
    const secrets = {
      MCP_SCALE_ADMIN_TOKEN: 'admin-token-value',
      MCP_SCALE_CLUSTER_SECRET: SECRET,
      MCP_SCALE_REDIS_URL: 'redis://:hunter2@127.0.0.1:6379',
      MCP_SCALE_JWT_SECRET: 'jwt-secret-value',
    };
    expect(gateway.env).toEqual(secrets);
    expect(direct.env).toEqual(secrets);
    const { MCP_SCALE_JWT_SECRET: _unused, ...workerSecrets } = secrets;
    expect(worker.env).toEqual(workerSecrets);
  });

  it('every setting a role reads round-trips through its argv and env', () => {
    // A value differing from every default, for each setting a gateway or worker reads.
    const file = path.join(dir, 'all.json');
    const values = {
      host: '0.0.0.0',
      port: 9000,
      path: '/m',
      maxBody: '1mb',
      allowedHost: ['a.example', 'b.example'],
      adminToken: 'tok',
      clusterSecret: SECRET,
      maxInflight: 7,
      upstreamTimeout: '9s',
      drainTimeout: '3s',
      corsOrigin: ['*'],
      trustProxy: true,
      redis: 'redis://:pw@127.0.0.1:1',
      prefix: 'p:',
      server: './s.js',
      backendLatency: '5ms',
      sessions: 'stateless',
      sessionTtl: '2m',
      replayBuffer: '8mb',
      replayWindow: '90s',
      auth: 'jwt',
      apiKeys: '/k.txt',
      jwtSecret: 'j',
      jwksUrl: 'https://idp.example/jwks',
      jwtIssuer: 'iss',
      jwtAudience: 'aud',
      resourceMetadata: 'https://r.example/m',
      rateLimit: '6/1m',
      block: '1m',
      ipRateLimit: '7/1m',
      toolLimit: { t: '1/1s' },
      toolCost: { t: 3 },
      limitsOnRedisFailure: 'closed',
      cacheTtl: { t: '1m' },
      cacheScope: { t: 'user' },
      cacheForce: ['t', 'u'],
      cacheTimeout: '70ms',
    };
    fs.writeFileSync(file, JSON.stringify(values));
    const config = resolveSettings({ command: 'serve', configFile: file, env: {} }).config;
    for (const role of ['gateway', 'worker'] as const) {
      const invocation = roleInvocation(config, role, { direct: true });
      const flags: Record<string, string | string[] | boolean> = {};
      for (let i = 0; i < invocation.args.length; i++) {
        const arg = invocation.args[i] as string;
        const name = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
        const s = getSetting(name);
        if (s.codec.placeholder === undefined) flags[name] = true;
        else if (s.codec.repeatable)
          flags[name] = [...((flags[name] as string[]) ?? []), invocation.args[++i] as string];
        else flags[name] = invocation.args[++i] as string;
      }
      const child = resolveSettings({ command: role, env: invocation.env, flags }).config;
      const reads = role === 'worker' ? ['worker', 'direct'] : ['gateway'];
      for (const s of SETTINGS.filter((x) => x.roles.some((r) => reads.includes(r)))) {
        expect(s.get(child), `${role} ${s.name}`).toEqual(s.get(config));
      }
    }
  });

  it('config print redacts secrets and the password of a Redis URL', () => {
    expect(showValue(getSetting('clusterSecret'), SECRET)).toBe('<redacted>');
    expect(showValue(getSetting('redis'), 'redis://user:pw@h:1')).toBe('redis://user:***@h:1');
    expect(showValue(getSetting('redis'), 'redis://h:1')).toBe('redis://h:1');
  });
});
