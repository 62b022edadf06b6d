import { describe, expect, it } from 'vitest';
import * as library from '../../src/index.js';

describe('the library entry point', () => {
  it('exposes what the CLI is built on, working', () => {
    expect(library.parseDuration('5m')).toBe(300_000);
    expect(library.formatRate(library.parseRate('60/1m'))).toBe('60/1m');
    expect(library.parseSize('4mb')).toBe(4 * 1024 * 1024);
    expect(new library.KeySchema('x:').session('abc')).toBe('x:session:abc');
    const config = library.defaultClusterConfig();
    expect(config).toMatchObject({ port: 8080, instances: 3, redis: 'auto', sessions: 'stateful' });
    const signer = new library.IdentitySigner('s'.repeat(32));
    const request = { method: 'POST', body: '{}' };
    expect(library.verifyIdentity('s'.repeat(32), signer.sign({ user: 'alice' }, request), request)).toEqual({
      ok: true,
      identity: { user: 'alice' },
    });
    for (const name of [
      'startCluster',
      'startGateway',
      'startWorkerHost',
      'renderTarget',
      'runBench',
      'planTopology',
      'killSession',
      'flushCache',
      'resetLimit',
    ]) {
      expect(typeof (library as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
