import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAdmin, type AdminConnection } from '../../src/admin/admin-redis.js';
import { flushCache } from '../../src/admin/cache.js';
import type { Authenticator } from '../../src/gateway/admission.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { LocalRedis } from '../../src/redis/local-server.js';
import { scanKeys } from '../../src/redis/scan.js';
import type { WorkerHost } from '../../src/worker/host.js';
import { startCacheWorker } from '../helpers/cache-fixtures.js';
import { connectV1, connectV2, jsonOf } from '../helpers/clients.js';
import { startTestRedis } from '../helpers/redis.js';
import { startTestGateway } from '../helpers/roles.js';

const PREFIX = 'cscope:';
const marker = (result: unknown) =>
  (result as { _meta?: Record<string, unknown> })._meta?.['mcp-scale/cache'];

/** The user is whatever the x-test-user header says; no header = anonymous. */
const byHeader: Authenticator = {
  async authenticate(req) {
    const user = req.headers['x-test-user'];
    return typeof user === 'string' ? { ok: true, user } : { ok: true };
  },
};

describe('user-scoped results (get_user) never reach another user', () => {
  let redis: LocalRedis;
  let admin: AdminConnection;
  let workers: WorkerHost[];
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startTestRedis();
    admin = await connectAdmin({ url: redis.url, prefix: PREFIX, source: '--redis' });
    workers = await Promise.all(
      ['w1', 'w2'].map((id) => startCacheWorker({ id, prefix: PREFIX, redisUrl: redis.url })),
    );
    gateway = await startTestGateway({
      workers: workers.map((w) => ({ id: w.id, url: w.url })),
      redisUrl: redis.url,
      prefix: PREFIX,
      authenticator: byHeader,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all((workers ?? []).map((w) => w.close()));
    await admin?.close();
    await redis?.close();
  });

  const keys = async (pattern: string) => {
    const found: string[] = [];
    for await (const key of scanKeys(admin.redis, `${PREFIX}${pattern}`)) found.push(key);
    return found;
  };

  it('keys get_user by the signed identity, through the cache and after flushing the other user', async () => {
    const as = (user: string) => ({ headers: { 'x-test-user': user } });
    const [alice, bob, anonymous] = await Promise.all([
      connectV1(gateway.url, as('alice')),
      connectV1(gateway.url, as('bob')),
      connectV1(gateway.url),
    ]);
    const profile = (client: {
      callTool(request: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
    }) => client.callTool({ name: 'get_user', arguments: {} });

    const aliceFirst = await profile(alice);
    const aliceAgain = await profile(alice);
    expect([marker(aliceFirst), marker(aliceAgain)]).toEqual(['miss', 'hit']);
    expect(jsonOf(aliceAgain).user).toBe('alice');

    // Same tool, same (empty) arguments, same era: bob still gets his own profile.
    const bobFirst = await profile(bob);
    const bobAgain = await profile(bob);
    expect([marker(bobFirst), marker(bobAgain)]).toEqual(['miss', 'hit']);
    expect([jsonOf(bobFirst).user, jsonOf(bobAgain).user]).toEqual(['bob', 'bob']);

    // Anonymous callers are never cached (they would all share one entry).
    const anon = [await profile(anonymous), await profile(anonymous)];
    expect(anon.map(marker)).toEqual(['miss', 'miss']);
    expect(anon.map((r) => jsonOf(r).user)).toEqual([null, null]);

    expect(await keys('cache:get_user:user.alice:2025:*')).toHaveLength(1);
    expect(await keys('cache:get_user:user.bob:2025:*')).toHaveLength(1);
    expect(await keys('cache:get_user:public:*')).toHaveLength(0);

    expect(await flushCache(admin, { user: 'bob' })).toEqual({ matched: 1, removed: 1 });
    const aliceAfter = await profile(alice);
    expect(marker(aliceAfter)).toBe('hit');
    expect(jsonOf(aliceAfter).user).toBe('alice');
    const bobAfter = await profile(bob);
    expect(marker(bobAfter)).toBe('miss');
    expect(jsonOf(bobAfter).user).toBe('bob');

    // 2026-era calls (any worker, no session) are keyed by user just the same.
    const [alice2026, bob2026] = await Promise.all([
      connectV2(gateway.url, as('alice')),
      connectV2(gateway.url, as('bob')),
    ]);
    const modern = [await profile(alice2026), await profile(alice2026)];
    expect(modern.map(marker)).toEqual(['miss', 'hit']);
    expect(modern.map((r) => jsonOf(r).user)).toEqual(['alice', 'alice']);
    const bobModern = await profile(bob2026);
    expect(marker(bobModern)).toBe('miss');
    expect(jsonOf(bobModern).user).toBe('bob');

    await Promise.all([alice, bob, anonymous, alice2026, bob2026].map((c) => c.close()));
  });
});
