import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { defaultClusterConfig } from '../../src/config/cluster-config.js';
import { UserError } from '../../src/errors.js';
import { genOptionsFromConfig } from '../../src/gen/options.js';
import { renderTarget } from '../../src/gen/render.js';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import { FIXED_SECRET, REPO_ROOT } from '../helpers/lb-gen-cases.js';

const options = (redis: string) =>
  genOptionsFromConfig(
    { ...defaultClusterConfig(), clusterSecret: FIXED_SECRET, redis },
    { contextDir: REPO_ROOT },
  );

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, read by path
type Doc = any;

type Service = { volumes?: string[]; depends_on?: Record<string, unknown>; command?: string[] };

describe('gen --redis ha', () => {
  it('compose: a primary, a replica and three sentinels, each sentinel with its own writable volume', () => {
    const files = renderTarget('compose', options('ha'));
    const compose = parse(files.find((f) => f.path === 'compose.yaml')!.content) as {
      services: Record<string, Service>;
      volumes: Record<string, unknown>;
    };
    const redisServices = Object.keys(compose.services).filter((name) => name.startsWith('redis'));
    expect(redisServices).toEqual([
      'redis-primary',
      'redis-replica',
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
    ]);
    for (const name of redisServices) {
      expect(compose.services[name]!.volumes).toEqual([`${name}-data:/data`]);
      expect(compose.volumes).toHaveProperty(`${name}-data`);
    }
    expect(compose.services['redis-replica']!.command!.join(' ')).toContain('replicaof redis-primary 6379');
    // Mcp-scale services wait for the sentinels, which they connect through.
    expect(Object.keys(compose.services['worker-1']!.depends_on!)).toEqual([
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
    ]);
    const env = files.find((f) => f.path === '.env')!;
    expect(env.mode).toBe(0o600);
    const url = /^MCP_SCALE_REDIS_URL='(.+)'$/m.exec(env.content)![1]!;
    const target = parseRedisUrl(url);
    expect(target).toMatchObject({ kind: 'sentinel', masterName: 'mcp-scale' });
    expect(target.kind === 'sentinel' && target.sentinels.map((s) => s.host)).toEqual([
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
    ]);
    expect(env.content).toMatch(/^MCP_SCALE_REDIS_PASSWORD='[0-9a-f]{48}'$/m);
    expect(env.content).toMatch(/^MCP_SCALE_SENTINEL_PASSWORD='[0-9a-f]{48}'$/m);
    // No password in compose.yaml itself: containers read it from the environment.
    expect(files.find((f) => f.path === 'compose.yaml')!.content).not.toContain(
      target.kind === 'sentinel' ? target.password! : 'x',
    );
  });

  it('without an output folder each run makes new passwords (kept from --out: gen-cli.test.ts)', () => {
    const a = options('ha').redisHa!;
    const b = options('ha').redisHa!;
    expect(a.password).not.toBe(b.password);
    expect(a.sentinelPassword).not.toBe(a.password);
  });

  it('k8s: StatefulSets of 2 data pods and 3 sentinels, a writable config volume, passwords from the Secret', () => {
    const files = renderTarget('k8s', options('ha'));
    expect(files.map((f) => f.path)).toContain('k8s/redis-ha.yaml');
    expect(files.map((f) => f.path)).not.toContain('k8s/redis.yaml');
    const docs = parseAllDocuments(files.find((f) => f.path === 'k8s/redis-ha.yaml')!.content).map(
      (d) => d.toJSON() as { kind: string; metadata: { name: string }; spec?: Record<string, unknown> },
    );
    const sets = docs.filter((d) => d.kind === 'StatefulSet');
    expect(sets.map((s) => [s.metadata.name, s.spec!.replicas])).toEqual([
      ['mcp-scale-redis', 2],
      ['mcp-scale-sentinel', 3],
    ]);
    const sentinelSpec = JSON.stringify(sets[1]);
    expect(sentinelSpec).toContain('"emptyDir":{}');
    expect(sentinelSpec).toContain('"key":"sentinel-password"');
    const secret = parse(files.find((f) => f.path === 'k8s/secret.yaml')!.content) as {
      stringData: Record<string, string>;
    };
    expect(Object.keys(secret.stringData).sort()).toEqual([
      'cluster-secret',
      'redis-password',
      'redis-url',
      'sentinel-password',
    ]);
    expect(parseRedisUrl(secret.stringData['redis-url']!)).toMatchObject({
      kind: 'sentinel',
      password: secret.stringData['redis-password'],
      sentinelPassword: secret.stringData['sentinel-password'],
    });
    const pdb = files.find((f) => f.path === 'k8s/pdb.yaml')!.content;
    expect(pdb).toContain('name: mcp-scale-redis');
    expect(pdb).toContain('name: mcp-scale-sentinel');
  });

  it('k8s: every Redis pod, data and sentinel, admits only mcp-scale pods, on its own port', () => {
    const files = renderTarget('k8s', options('ha'));
    const docs = (path: string) =>
      parseAllDocuments(files.find((f) => f.path === path)!.content)
        .map((d) => d.toJS())
        .filter(Boolean);
    const policies = docs('k8s/network-policy.yaml').filter((d) => d.kind === 'NetworkPolicy');
    const sets = docs('k8s/redis-ha.yaml').filter((d) => d.kind === 'StatefulSet');
    expect(sets.map((d) => d.metadata.name)).toEqual(['mcp-scale-redis', 'mcp-scale-sentinel']);
    for (const set of sets) {
      const labels = set.spec.template.metadata.labels as Record<string, string>;
      const selecting = policies.filter((p) =>
        Object.entries(p.spec.podSelector.matchLabels as Record<string, string>).every(
          ([key, value]) => labels[key] === value,
        ),
      );
      expect(
        selecting.map((p) => p.metadata.name),
        set.metadata.name,
      ).toEqual([set.metadata.name]);
      const [policy] = selecting;
      const ports = (set.spec.template.spec.containers as Doc[]).flatMap((c) =>
        (c.ports as Doc[]).map((port) => port.containerPort as number),
      );
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
      expect(policy.spec.ingress).toEqual([
        {
          // No namespaceSelector: pods of this namespace only, and only mcp-scale's own.
          from: [
            {
              podSelector: {
                matchExpressions: [
                  { key: 'app.kubernetes.io/name', operator: 'In', values: ['mcp-scale'] },
                  {
                    key: 'app.kubernetes.io/component',
                    operator: 'In',
                    values: ['gateway', 'worker', 'redis', 'sentinel'],
                  },
                ],
              },
            },
          ],
          ports: ports.map((port) => ({ protocol: 'TCP', port })),
        },
      ]);
    }
    // Every mcp-scale component that talks to Redis carries the labels the policies admit.
    for (const component of ['gateway', 'worker'])
      expect(
        files.some((f) => f.content.includes(`app.kubernetes.io/component: ${component}`)),
        component,
      ).toBe(true);
  });

  it('a redis-sentinel:// URL is used as it is; a malformed one is refused at generation', () => {
    const files = renderTarget('k8s', options('redis-sentinel://:pw@10.0.0.5:26379/mymaster'));
    expect(files.map((f) => f.path)).not.toContain('k8s/redis-ha.yaml');
    expect(() => options('redis-sentinel://10.0.0.5:26379')).toThrow(UserError);
    expect(() => options('redis-sentinel://10.0.0.5:26379')).toThrow(/name the master/);
  });
});
