import http from 'node:http';
import net from 'node:net';
import { McpServer } from '@modelcontextprotocol/server';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentitySigner, verifyIdentity } from '../../src/cluster/identity.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { WorkerHost } from '../../src/worker/host.js';
import type { ServerFactory } from '../../src/worker/server-module.js';
import { KEYS, MODERN_META, post, startLimitedGateway, writeApiKeys } from '../helpers/limits-fixtures.js';
import { signedIdentity, startTestGateway, startTestWorkerHost, TEST_SECRET } from '../helpers/roles.js';

/**
 * Issue 19, items 6 to 8: identity between tiers (a worker refuses what no
 * gateway signed, a signature is good for one request only, the client's
 * token stops at the gateway) and the smaller items (timeouts, deep
 * nesting, the worker's admin token, a readable 413).
 */
const JWT_SECRET = 'jwt-test-secret-0123456789-abcdefghijklmnop';
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A v2 server whose tool reports what it can see of the caller. */
const whoamiServer: ServerFactory = () => {
  const server = new McpServer({ name: 'whoami', version: '1.0.0' });
  server.registerTool('whoami', { description: 'who is calling' }, async (ctx) => {
    const headers = ctx.http?.req?.headers;
    const seen = {
      authorization: headers?.get('authorization') ?? null,
      apiKey: headers?.get('x-api-key') ?? null,
      authInfo: ctx.http?.authInfo ?? null,
    };
    return { content: [{ type: 'text' as const, text: JSON.stringify(seen) }] };
  });
  return server;
};

function modernWhoami(url: string, headers: Record<string, string>) {
  return post(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {}, _meta: MODERN_META },
    },
    { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami', ...headers },
  );
}
const seenBy = (response: Awaited<ReturnType<typeof post>>) =>
  JSON.parse((response.json as { result: { content: { text: string }[] } }).result.content[0]!.text) as {
    authorization: string | null;
    apiKey: string | null;
    authInfo: {
      clientId: string;
      scopes: string[];
      token: string;
      extra: { user?: string; claims?: Record<string, unknown> };
    } | null;
  };

/**
 * Sends a whole body with http.request (as curl or an SDK would) and reads
 * the answer. Any error while writing (EPIPE, ECONNRESET), even after the
 * answer arrived, fails it: that is what a client that sends all its body sees.
 */
function sendWhole(url: string, body: Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    let answer: { status: number; text: string } | undefined;
    let closed = false;
    const settle = () => {
      if (answer && closed) resolve(answer);
    };
    const request = http.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          answer = { status: response.statusCode ?? 0, text };
          settle();
        });
      },
    );
    request.on('error', reject);
    request.on('close', () => {
      closed = true;
      settle();
    });
    request.end(body);
  });
}

/**
 * Writes a POST with a body of `size` bytes on a raw socket, all of it, and
 * reads what comes back until the server closes. A reset while writing
 * (EPIPE/ECONNRESET: the server closed too early) is returned as `error`.
 */
function sendWholeRaw(port: number, size: number) {
  return new Promise<{ text: string; error?: string }>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let error: string | undefined;
    const timer = setTimeout(() => socket.destroy(new Error('no close within 20 s')), 20_000);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, error });
    });
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
    );
    socket.end(Buffer.alloc(size, 0x20));
  });
}

/** Opens a raw connection, sends the headers and one byte of a 100-byte body, and waits for the server's answer. */
function trickle(port: number, path: string) {
  return new Promise<{ text: string; closed: boolean }>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, 20_000);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => {});
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
  });
}

describe('security: identity between tiers and the smaller items', () => {
  let behind: WorkerHost;
  let direct: WorkerHost;
  let jwtGateway: Gateway;
  let keyGateway: Gateway;
  let fastGateway: Gateway;
  let fastWorker: WorkerHost;

  beforeAll(async () => {
    behind = await startTestWorkerHost({ id: 'behind', prefix: 'sec-t:', serverFactory: whoamiServer });
    direct = await startTestWorkerHost({
      id: 'direct',
      prefix: 'sec-t:',
      acceptUnsigned: true,
      adminToken: 'sekrit-admin',
    });
    jwtGateway = await startLimitedGateway({
      workers: [behind],
      redisUrl: undefined,
      prefix: 'sec-t:',
      settings: { auth: 'jwt', jwtSecret: JWT_SECRET },
    });
    keyGateway = await startLimitedGateway({
      workers: [behind],
      redisUrl: undefined,
      prefix: 'sec-t:',
      settings: { auth: 'apikey', apiKeys: writeApiKeys() },
    });
    const timeouts = { headersTimeoutMs: 1000, requestTimeoutMs: 1500 };
    fastWorker = await startTestWorkerHost({
      id: 'fast',
      prefix: 'sec-t:',
      requestTimeouts: timeouts,
      maxBodyBytes: 64 * 1024,
    });
    fastGateway = await startTestGateway({
      workers: [{ id: fastWorker.id, url: fastWorker.url }],
      requestTimeouts: timeouts,
      maxBodyBytes: 64 * 1024,
    });
  });
  afterAll(async () => {
    await Promise.all([jwtGateway?.close(), keyGateway?.close(), fastGateway?.close()]);
    await Promise.all([behind?.close(), direct?.close(), fastWorker?.close()]);
  });

  it('6. a worker behind gateways refuses unsigned requests (403); a --direct-workers worker serves them', async () => {
    const refused = await post(behind.url, initialize);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.json)).toContain('--direct-workers');
    expect((await post(direct.url, initialize)).status).toBe(200);
  });

  it('6. a signed identity is good for its own request only, and only within the skew window', async () => {
    const body = JSON.stringify(initialize);
    const captured = signedIdentity('alice', { body });
    expect((await post(behind.url, initialize, captured)).status).toBe(200);
    // Replayed on another body, or on a GET, it does not verify.
    const other = { ...initialize, id: 2 };
    const replayed = await post(behind.url, other, captured);
    expect(replayed.status).toBe(403);
    expect(JSON.stringify(replayed.json)).toContain('signed for another request');
    // Signed a minute ago (or a minute ahead): outside the 30 s window.
    for (const offset of [-60_000, 60_000]) {
      const skewed = new IdentitySigner(TEST_SECRET, () => Date.now() + offset).sign(
        { user: 'alice' },
        { method: 'POST', body },
      );
      const response = await post(behind.url, initialize, { 'mcp-scale-identity': skewed });
      expect(response.status).toBe(403);
      expect(JSON.stringify(response.json)).toContain('allowed skew');
    }
    // The library check agrees, and the old v1 format is refused.
    const request = { method: 'POST', body };
    expect(verifyIdentity(TEST_SECRET, captured['mcp-scale-identity']!, request).ok).toBe(true);
    expect(
      verifyIdentity(TEST_SECRET, captured['mcp-scale-identity']!, request, Date.now() + 31_000).ok,
    ).toBe(false);
    expect(verifyIdentity(TEST_SECRET, 'v1.eyJ1IjoiYWxpY2UifQ.x', request).ok).toBe(false);
    expect(verifyIdentity(TEST_SECRET, 'v2.eyJ1IjoiYWxpY2UifQ.x', request).ok).toBe(false);
  });

  it('7. the client token stops at the gateway; the server gets the verified user, scopes and claims', async () => {
    const token = await new SignJWT({
      sub: 'carol',
      scope: 'orders:read orders:write',
      client_id: 'app-1',
      tenant: 't9',
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const viaJwt = await modernWhoami(jwtGateway.url, { authorization: `Bearer ${token}` });
    expect(viaJwt.status).toBe(200);
    const seen = seenBy(viaJwt);
    expect(seen.authorization).toBeNull();
    expect(seen.authInfo).toMatchObject({
      token: '',
      clientId: 'app-1',
      scopes: ['orders:read', 'orders:write'],
      extra: { user: 'carol', claims: { sub: 'carol', tenant: 't9' } },
    });
    for (const credential of [
      { 'x-api-key': KEYS.alice },
      { authorization: `Bearer ${KEYS.alice}` },
    ] as Record<string, string>[]) {
      const viaKey = seenBy(await modernWhoami(keyGateway.url, credential));
      expect(viaKey).toMatchObject({
        authorization: null,
        apiKey: null,
        authInfo: { extra: { user: 'alice' } },
      });
    }
  });

  it('8. JWT without exp: refused unless --jwt-allow-no-exp', async () => {
    const forever = await new SignJWT({ sub: 'dave' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(JWT_SECRET));
    const refused = await modernWhoami(jwtGateway.url, { authorization: `Bearer ${forever}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('no exp claim');
    const lenient = await startLimitedGateway({
      workers: [behind],
      redisUrl: undefined,
      prefix: 'sec-t:',
      settings: { auth: 'jwt', jwtSecret: JWT_SECRET, jwtAllowNoExp: true },
    });
    try {
      const accepted = await modernWhoami(lenient.url, { authorization: `Bearer ${forever}` });
      expect(accepted.status).toBe(200);
      expect(seenBy(accepted).authInfo?.extra.user).toBe('dave');
    } finally {
      await lenient.close();
    }
  });

  it('8. a trickled body gets 408 and the connection closed, at the gateway and at a worker', async () => {
    for (const [port, path] of [
      [fastGateway.port, '/mcp'],
      [fastWorker.port, '/mcp'],
    ] as const) {
      const outcome = await trickle(port, path);
      expect(outcome.closed).toBe(true);
      expect(outcome.text).toMatch(/^HTTP\/1\.1 408/);
    }
  });

  it('8. parameters nested 100,000 deep get 400, not a 500', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const body = `{"jsonrpc":"2.0","id":1,"method":"resources/list","params":{"_meta":${JSON.stringify(MODERN_META)},"x":${deep}}}`;
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'resources/list' };
    const atGateway = await sendWhole(fastGateway.url, Buffer.from(body), headers);
    expect(atGateway.status).toBe(413); // the gateway's 64 KiB cap comes first
    const viaDirect = await sendWhole(direct.url, Buffer.from(body), headers);
    expect(viaDirect.status).toBe(400);
    expect(viaDirect.text).toContain('nests deeper than 256');
    const roomy = await startTestGateway({ workers: [{ id: direct.id, url: direct.url }] });
    try {
      const response = await sendWhole(roomy.url, Buffer.from(body), headers);
      expect(response.status).toBe(400);
      expect(response.text).toContain('nests deeper than 256');
    } finally {
      await roomy.close();
    }
  });

  it('8. worker /metrics requires --admin-token when one is set, from loopback too', async () => {
    const metrics = direct.url.replace('/mcp', '/metrics');
    expect((await fetch(metrics)).status).toBe(401);
    expect((await fetch(metrics, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(metrics, { headers: { authorization: 'Bearer sekrit-admin' } })).status).toBe(200);
    // Without a token, loopback clients only (as before).
    expect((await fetch(behind.url.replace('/mcp', '/metrics'))).status).toBe(200);
  });

  it('8. a client that sends a whole 5 MiB body reads the 413 every time (lingering close)', async () => {
    for (const port of [fastGateway.port, fastWorker.port]) {
      for (let i = 0; i < 4; i++) {
        const outcome = await sendWholeRaw(port, 5 * 1024 * 1024);
        expect(outcome.error, `port ${port}`).toBeUndefined();
        expect(outcome.text).toMatch(/^HTTP\/1\.1 413/);
        expect(outcome.text).toContain('exceeds');
      }
    }
  });
});
