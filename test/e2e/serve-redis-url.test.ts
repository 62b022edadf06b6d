import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.js';
import { findFreePort } from '../../src/util/net.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import { scratchDir, startServe } from '../helpers/cluster.js';

/** A throwaway CA and a server certificate for 127.0.0.1, made with the real openssl. */
function makeCertificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=mcp-scale-test-ca',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
  };
}

describe('serve --redis URL: a password and rediss:// (TLS) work, and never show in the banner', () => {
  const servers: LocalRedis[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('redis://:password@host:port', async () => {
    const redis = await startLocalRedis({ args: ['--requirepass', 'pa55-w0rd'] });
    servers.push(redis);
    const url = `redis://:pa55-w0rd@127.0.0.1:${redis.port}`;
    const cluster = await startServe(['--instances', '1', '--backend-latency', '0', '--redis', url]);
    try {
      expect(cluster.info.redis).toEqual({ mode: 'url', url });
      expect(cluster.stdout()).toContain(`redis://:***@127.0.0.1:${redis.port}`);
      expect(cluster.stdout() + cluster.stderr()).not.toContain('pa55-w0rd');
      const client = await connectV1(cluster.url);
      expect(jsonOf(await client.callTool({ name: 'get_inventory', arguments: { id: 'p00001' } })).id).toBe(
        'p00001',
      );
      await client.close();
    } finally {
      expect(await cluster.stop()).toBe(0);
    }
  });

  it('a wrong password is a clear one-line error, not a hang', async () => {
    const redis = servers[0]!;
    const cluster = startServe(['--instances', '1', '--redis', `redis://:wrong@127.0.0.1:${redis.port}`]);
    await expect(cluster).rejects.toThrow(
      /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: authentication failed/,
    );
  });

  it('rediss:// to a TLS-only redis-server, trusting its CA', async () => {
    const dir = scratchDir('mcp-scale-tls-');
    const tls = makeCertificates(dir);
    const tlsPort = await findFreePort();
    const redis = await startLocalRedis({
      args: [
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        tls.cert,
        '--tls-key-file',
        tls.key,
        '--tls-ca-cert-file',
        tls.ca,
        '--tls-auth-clients',
        'no',
      ],
    });
    servers.push(redis);
    const url = `rediss://127.0.0.1:${tlsPort}`;
    const cluster = await startServe(['--instances', '1', '--backend-latency', '0', '--redis', url], {
      NODE_EXTRA_CA_CERTS: tls.ca,
    });
    try {
      expect(cluster.info.redis).toEqual({ mode: 'url', url });
      const client = await connectV1(cluster.url);
      // update_inventory writes through Redis (HINCRBY): the TLS connection carries real traffic.
      const updated = jsonOf<{ stock: number }>(
        await client.callTool({ name: 'update_inventory', arguments: { id: 'p00002', delta: 2 } }),
      );
      const read = jsonOf<{ stock: number }>(
        await client.callTool({ name: 'get_inventory', arguments: { id: 'p00002' } }),
      );
      expect(read.stock).toBe(updated.stock);
      await client.close();
    } finally {
      expect(await cluster.stop()).toBe(0);
    }
  });
});
