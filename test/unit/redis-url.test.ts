import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { redisUrlHasCredentials } from '../../src/config/settings/topology.js';
import { UserError } from '../../src/errors.js';
import { parseRedisUrl, redactRedisUrl } from '../../src/redis/redis-url.js';

describe('Redis URLs', () => {
  it('plain redis:// and rediss:// are passed to ioredis as they are', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({
      kind: 'single',
      url: 'redis://127.0.0.1:6379/2',
    });
    expect(parseRedisUrl('rediss://:pw@redis.example:6380')).toEqual({
      kind: 'single',
      url: 'rediss://:pw@redis.example:6380',
    });
  });

  it('redis-sentinel:// names the sentinels, the master, and both passwords', () => {
    expect(
      parseRedisUrl(
        'redis-sentinel://:data%2Fpw@10.0.0.5:26379,10.0.0.6,[::1]:26380/mymaster?sentinelPassword=s3',
      ),
    ).toEqual({
      kind: 'sentinel',
      tls: false,
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: '10.0.0.6', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 0,
      password: 'data/pw',
      sentinelPassword: 's3',
    });
  });

  it('rediss-sentinel:// is TLS; a user name, sentinelUsername and db are read too', () => {
    expect(
      parseRedisUrl('rediss-sentinel://app:pw@s1:26379/main?sentinelUsername=mon&sentinelPassword=x&db=3'),
    ).toEqual({
      kind: 'sentinel',
      tls: true,
      sentinels: [{ host: 's1', port: 26379 }],
      masterName: 'main',
      db: 3,
      username: 'app',
      password: 'pw',
      sentinelUsername: 'mon',
      sentinelPassword: 'x',
    });
    expect(parseRedisUrl('redis-sentinel://s1:26379/main')).toMatchObject({
      kind: 'sentinel',
      masterName: 'main',
    });
  });

  it('redis-cluster:// lists seed nodes with an optional password', () => {
    expect(parseRedisUrl('rediss-cluster://secret@a:7000,b:7001')).toEqual({
      kind: 'cluster',
      tls: true,
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      password: 'secret',
    });
  });

  it.each([
    ['http://127.0.0.1:6379', 'use redis://'],
    ['ha', 'use redis://'],
    ['redis://', 'no host'],
    ['redis-sentinel://127.0.0.1:26379', 'name the master'],
    ['redis-sentinel://127.0.0.1:26379/', 'name the master'],
    ['redis-sentinel:///mymaster', 'no host:port'],
    ['redis-sentinel://h:99999/m', 'port 99999 is out of range'],
    ['redis-sentinel://h:26379,:1/m', "':1' is not host:port"],
    ['redis-sentinel://h:26379/m?sentinelPasword=x', "unknown option 'sentinelPasword'"],
    ['redis-sentinel://h:26379/m?db=x', "db must be a database number, got 'x'"],
    ['redis-cluster://a:7000/3', 'takes no database'],
  ])('%s is refused with one line naming the problem', (url, why) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).not.toContain('\n');
  });

  it('refusals and banners never show a password, the sentinels’ included', () => {
    expect(redactRedisUrl('redis-sentinel://:topsecret@h:1,h:2/m?sentinelPassword=alsosecret&db=1')).toBe(
      'redis-sentinel://:***@h:1,h:2/m?sentinelPassword=***&db=1',
    );
    expect(() => parseRedisUrl('redis-sentinel://:topsecret@h:1/m?x=1')).toThrow(/^(?!.*topsecret)/);
  });
});

describe('a bad Redis URL on the command line', () => {
  it.each([
    ['sessions', 'list'],
    ['limits', 'list'],
    ['cache', 'stats'],
  ])('%s %s: one line on stderr, exit 2', async (...command) => {
    const result = await runCli(...command, '--redis', 'redis-sentinel://:pw@127.0.0.1:26379');
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('name the master');
    expect(result.stderr).not.toContain(':pw@');
  });

  it('a role refuses --redis ha (it is serve’s) with one line, exit 2', async () => {
    const result = await runCli('gateway', '--port', '0', '--redis', 'ha');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--redis ha is for serve');
  });
});

/** Runs `mcp-scale ...` in process through the real commander program and error handler. */
async function runCli(...args: string[]): Promise<{ stderr: string; exitCode: number }> {
  let stderr = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    process.exitCode = undefined;
    await main(['node', 'mcp-scale', ...args]);
    return { stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    err.mockRestore();
    out.mockRestore();
    process.exitCode = undefined;
  }
}

describe('a Sentinel URL carrying only the sentinels’ password', () => {
  it('is still a secret: it travels by environment, never argv', () => {
    expect(redisUrlHasCredentials('redis-sentinel://h:26379/m?sentinelPassword=x')).toBe(true);
    expect(redisUrlHasCredentials('redis-sentinel://:pw@h:26379/m')).toBe(true);
    expect(redisUrlHasCredentials('redis-sentinel://h:26379/m')).toBe(false);
  });
});
