import { describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';
import { unhonoured, type Topology } from '../../src/config/settings/topology-rules.js';
import type { SettingInputs } from '../../src/config/settings/types.js';

const serveDirect: Topology = {
  label: 'serve --lb nginx --affinity session',
  command: 'serve',
  direct: true,
  commandWorkers: false,
};
const serveCommand: Topology = {
  label: 'serve --server-cmd',
  command: 'serve',
  direct: false,
  commandWorkers: true,
};

function verdict(flags: SettingInputs, topology: Topology): string | undefined {
  return unhonoured(resolveClusterConfig({ command: 'serve', flags, env: {} }), topology);
}

describe('settings a topology cannot honour are refused in one line', () => {
  it.each([
    [{ corsOrigin: ['*'] }, '--cors-origin is a gateway setting, and in serve --lb nginx --affinity session'],
    [{ maxInflight: '5' }, '--max-inflight is a gateway setting'],
    [{ upstreamTimeout: '1s' }, '--upstream-timeout is a gateway setting'],
  ])('direct topology: %j', (flags, message) => {
    expect(verdict(flags, serveDirect)).toContain(message);
  });

  it('direct topology: auth, limits and cache are the workers’ job, so they pass', () => {
    expect(
      verdict(
        { auth: 'apikey', apiKeys: 'k.txt', rateLimit: '5/1m', cacheTtl: ['get_product=1m'] },
        serveDirect,
      ),
    ).toBeUndefined();
    expect(verdict({ maxInflight: '128' }, serveDirect), 'a default is not a request').toBeUndefined();
  });

  it('direct topology without shared counts refuses limits', () => {
    expect(verdict({ rateLimit: '5/1m' }, { ...serveDirect, unsharedCounts: true })).toContain(
      'without Redis each would count alone',
    );
  });

  it.each([
    [{ cacheTtl: ['get_product=1m'] }, '--cache-ttl needs mcp-scale’s worker host'.replace('’', "'")],
    [{ sessions: 'stateless' }, '--sessions needs'],
    [{ backendLatency: '1ms' }, '--backend-latency needs'],
  ])('--server-cmd workers: %j', (flags, message) => {
    expect(verdict(flags, serveCommand)).toContain(message);
  });

  it('--server-cmd behind gateways keeps auth and limits (the gateway enforces them)', () => {
    expect(verdict({ auth: 'apikey', apiKeys: 'k.txt', rateLimit: '5/1m' }, serveCommand)).toBeUndefined();
  });

  it('--server-cmd exposed directly with auth on is refused', () => {
    expect(
      verdict(
        { auth: 'apikey', apiKeys: 'k.txt' },
        { ...serveCommand, direct: true, label: 'serve --lb haproxy --affinity ip --server-cmd' },
      ),
    ).toBe(
      '--auth: in serve --lb haproxy --affinity ip --server-cmd the balancer sends requests straight to your --server-cmd workers and nothing would enforce it: use --affinity gateway',
    );
  });
});
