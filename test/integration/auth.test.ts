import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { ApiKeyAuthenticator, JwtAuthenticator, parseApiKeys } from '../../src/gateway/auth/index.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import {
  KEYS,
  modernCall,
  post,
  startLimitedGateway,
  startTestWorker,
  writeApiKeys,
} from '../helpers/limits-fixtures.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestGateway, startTestWorkerHost } from '../helpers/roles.js';

const PREFIX = 'auth:';
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource';
const JWT_SECRET = 'jwt-test-secret-0123456789-abcdefghijklmnop';
const whoami = (url: string, headers: Record<string, string>) => modernCall(url, 1, 'get_user', {}, headers);
const userOf = (response: Awaited<ReturnType<typeof whoami>>) =>
  JSON.parse((response.json as { result: { content: { text: string }[] } }).result.content[0]!.text)
    .user as string;

function hsToken(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string | number | null } = {},
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  // Tokens expire unless a test asks for one that never does (null).
  if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

describe('authentication at the gateway (and at a worker without one)', () => {
  let redis: LocalRedis;
  let worker: WorkerHost;
  let apikey: Gateway;
  let jwt: Gateway;
  let jwks: Gateway;
  let jwksServer: http.Server;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    redis = await startTestRedis();
    worker = await startTestWorker('w1', redis.url, PREFIX);
    apikey = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: { auth: 'apikey', apiKeys: writeApiKeys(), resourceMetadata: METADATA },
    });
    jwt = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: {
        auth: 'jwt',
        jwtSecret: JWT_SECRET,
        jwtIssuer: 'https://issuer.example',
        jwtAudience: 'mcp-scale-test',
      },
    });
    rsa = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwksServer = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwks = await startLimitedGateway({
      workers: [worker],
      redisUrl: redis.url,
      prefix: PREFIX,
      settings: {
        auth: 'jwt',
        jwksUrl: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`,
        jwtAudience: 'mcp-scale-test',
      },
    });
  });
  afterAll(async () => {
    await Promise.all([apikey, jwt, jwks].map((g) => g?.close()));
    jwksServer?.closeAllConnections();
    await new Promise((resolve) => jwksServer?.close(resolve));
    await worker?.close();
    await redis?.close();
  });

  it('API key: missing → 401 with WWW-Authenticate pointing at the resource metadata (RFC 9728)', async () => {
    const response = await whoami(apikey.url, {});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA}"`);
    expect(response.json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: 'Unauthorized: credentials required' },
    });
  });

  it('API key: unknown → 401 invalid_token; valid in X-API-Key or Authorization: Bearer → the user reaches the server', async () => {
    const wrong = await whoami(apikey.url, { 'x-api-key': 'wrong-key-123456' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA}", error="invalid_token", error_description="unknown API key"`,
    );
    const viaHeader = await whoami(apikey.url, { 'x-api-key': KEYS.alice });
    expect(viaHeader.status).toBe(200);
    expect(userOf(viaHeader)).toBe('alice');
    const viaBearer = await whoami(apikey.url, { authorization: `Bearer ${KEYS.bob}` });
    expect(userOf(viaBearer)).toBe('bob');
    // A 2025 session through the SDK: the authenticated user is the session's owner.
    const client = await connectV1(apikey.url, { headers: { 'x-api-key': KEYS.alice } });
    expect(jsonOf(await client.callTool({ name: 'get_user', arguments: {} })).user).toBe('alice');
    await client.close();
  });

  it('JWT (HS256): valid → user = sub; expired, wrong audience, wrong issuer, bad signature, missing → 401', async () => {
    const good = { sub: 'carol', iss: 'https://issuer.example', aud: 'mcp-scale-test' };
    const valid = await whoami(jwt.url, {
      authorization: `Bearer ${await hsToken(good, { expiresIn: '5m' })}`,
    });
    expect(valid.status).toBe(200);
    expect(userOf(valid)).toBe('carol');

    const cases: [string, string, string][] = [
      [
        'expired',
        await hsToken(good, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
        'the token expired',
      ],
      [
        'wrong audience',
        await hsToken({ ...good, aud: 'someone-else' }),
        'the token is for another audience',
      ],
      [
        'wrong issuer',
        await hsToken({ ...good, iss: 'https://evil.example' }),
        'the token is from another issuer',
      ],
      [
        'bad signature',
        await hsToken(good, { secret: 'another-secret-0123456789-abcdefghijkl' }),
        'the token signature does not verify',
      ],
      ['no sub', await hsToken({ iss: good.iss, aud: good.aud }), 'the token has no sub claim'],
      [
        'no exp (never expires)',
        await hsToken(good, { expiresIn: null }),
        'the token has no exp claim (--jwt-allow-no-exp accepts such tokens)',
      ],
      [
        'a 10 KB sub',
        await hsToken({ ...good, sub: 'x'.repeat(10_000) }),
        "the token's sub claim is longer than 256 bytes",
      ],
      ['not a JWT', 'not.a.jwt', 'the token is malformed'],
    ];
    for (const [name, token, description] of cases) {
      const response = await whoami(jwt.url, { authorization: `Bearer ${token}` });
      expect(response.status, name).toBe(401);
      expect(response.headers.get('www-authenticate'), name).toBe(
        `Bearer error="invalid_token", error_description="${description}"`,
      );
      expect(response.json, name).toMatchObject({
        id: null,
        error: { message: `Unauthorized: ${description}` },
      });
    }
    const missing = await whoami(jwt.url, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('JWT (JWKS): a key from the JWKS verifies; a foreign key or an HS256 token does not; JWKS down → 503', async () => {
    const claims = { sub: 'dave', aud: 'mcp-scale-test' };
    const signed = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
    const ok = await whoami(jwks.url, { authorization: `Bearer ${signed}` });
    expect(ok.status).toBe(200);
    expect(userOf(ok)).toBe('dave');

    const other = await generateKeyPair('RS256');
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(other.privateKey);
    expect((await whoami(jwks.url, { authorization: `Bearer ${foreign}` })).status).toBe(401);
    const hs = await whoami(jwks.url, { authorization: `Bearer ${await hsToken(claims)}` });
    expect(hs.status).toBe(401);
    expect(hs.headers.get('www-authenticate')).toMatch(/algorithm is not accepted/);

    // A JWKS endpoint that does not answer: the token cannot be checked, which is not the client's fault.
    const dead = new JwtAuthenticator({
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      audience: 'mcp-scale-test',
    });
    const down = await dead.authenticate({
      headers: { authorization: `Bearer ${signed}` },
    } as IncomingMessage);
    expect(down).toMatchObject({ ok: false, status: 503, headers: { 'retry-after': '5' } });
  });

  it('a worker without a gateway checks credentials itself; requests with the signed identity skip that', async () => {
    const guarded = await startTestWorkerHost({
      id: 'solo',
      redisUrl: redis.url,
      prefix: PREFIX,
      authenticator: new ApiKeyAuthenticator(parseApiKeys(`${KEYS.alice} alice`), {
        resourceMetadata: METADATA,
      }),
      acceptUnsigned: true,
    });
    const front = await startTestGateway({
      workers: [{ id: guarded.id, url: guarded.url }],
      redisUrl: redis.url,
      prefix: PREFIX,
    });
    try {
      const denied = await whoami(guarded.url, {});
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA}"`);
      expect(userOf(await whoami(guarded.url, { 'x-api-key': KEYS.alice }))).toBe('alice');
      // A 2025 session straight to the worker (what nginx/HAProxy with --affinity session does).
      const client = await connectV1(guarded.url, { headers: { 'x-api-key': KEYS.alice } });
      expect(jsonOf(await client.callTool({ name: 'get_user', arguments: {} })).user).toBe('alice');
      await client.close();
      // Through a gateway (--auth none) the signed identity is trusted instead.
      const viaGateway = await whoami(front.url, {});
      expect(viaGateway.status).toBe(200);
      expect(userOf(viaGateway)).toBeNull();
      // A forged identity is still refused.
      const forged = await post(
        guarded.url,
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { 'mcp-scale-identity': 'v3.e30.bad' },
      );
      expect(forged.status).toBe(403);
    } finally {
      await front.close();
      await guarded.close();
    }
  });
});
