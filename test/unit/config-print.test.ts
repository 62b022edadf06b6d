import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cluster.js';
import { REPO_ROOT } from '../helpers/lb-gen-cases.js';

const SECRET = 'c'.repeat(40);

function cli(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_SCALE_')),
  );
  const run = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...clean, ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr.trim() };
}

describe('mcp-scale --version (issue 14, symptom 4)', () => {
  it("prints package.json's version, not the calling project's npm_package_version", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const run = cli(['--version'], { npm_package_version: '9.9.9-caller' });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});

describe('mcp-scale config print', () => {
  it('shows each effective value with its source; secrets and a Redis password are redacted', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-config-print-'));
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(file, 'rateLimit: 60/1m\ninstances: 4\nadminToken: file-admin-token\n');
    const run = cli(
      ['config', 'print', '--json', '--config', file, '--instances', '5', '--redis', 'redis://u:hunter2@h:1'],
      { MCP_SCALE_CLUSTER_SECRET: SECRET, MCP_SCALE_SESSION_TTL: '30m' },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    const rows = JSON.parse(run.stdout) as { key: string; value: string; source: string }[];
    const byKey = Object.fromEntries(rows.map((row) => [row.key, row]));
    expect(byKey.instances).toMatchObject({ value: '5', source: 'flag' });
    expect(byKey.rateLimit).toMatchObject({ value: '60/1m', source: 'file' });
    expect(byKey.sessionTtl).toMatchObject({ value: '30m', source: 'env' });
    expect(byKey.port).toMatchObject({ value: '8080', source: 'default' });
    expect(byKey.clusterSecret).toMatchObject({ value: '<redacted>', source: 'env' });
    expect(byKey.adminToken).toMatchObject({ value: '<redacted>', source: 'file' });
    expect(byKey.redis).toMatchObject({ value: 'redis://u:***@h:1', source: 'flag' });
    expect(run.stdout).not.toContain(SECRET);
    expect(run.stdout).not.toContain('hunter2');
    expect(run.stdout).not.toContain('file-admin-token');
  });

  it('resolves with the defaults of the command given by --for', () => {
    const rows = JSON.parse(cli(['config', 'print', '--json', '--for', 'gen']).stdout) as {
      key: string;
      value: string;
    }[];
    expect(rows.find((row) => row.key === 'host')?.value).toBe('0.0.0.0');
    expect(rows.find((row) => row.key === 'gateways')?.value).toBe('2');
  });

  it('a bad value in any source is one line and exit 2', () => {
    for (const [args, env, message] of [
      [['config', 'print', '--session-ttl', 'soon'], {}, '--session-ttl: invalid duration'],
      [['config', 'print'], { MCP_SCALE_MAX_BODY: 'huge' }, 'MCP_SCALE_MAX_BODY: invalid size'],
      [['config', 'print', '--for', 'gateway', '--image', 'x'], {}, '--image: not a setting of gateway'],
    ] as const) {
      const run = cli([...args], { ...env });
      expect(run.code).toBe(2);
      expect(run.stderr.split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(message);
    }
  });
});
