import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoadBalancer, type RunningLoadBalancer } from '../../src/gen/run-lb.js';
import { findFreePort } from '../../src/util/net.js';
import { startTestUpstream, type TestUpstream } from '../helpers/lb-upstream.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * A stub DNS server on loopback answering A queries for one name with an
 * address the test changes: what Docker's embedded DNS does when compose
 * recreates a container.
 */
async function startStubDns(name: string, initial: string) {
  let address = initial;
  let queries = 0;
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    queries++;
    const answers =
      question.type === 'A' && question.name === name
        ? [{ type: 'A' as const, class: 'IN' as const, name, ttl: 1, data: address }]
        : [];
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions,
      answers,
    });
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    queries: () => queries,
    point(to: string) {
      address = to;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

describe('HAProxy re-resolves a service name (resolvers), as the compose file configures it', () => {
  let dns: Awaited<ReturnType<typeof startStubDns>>;
  let first: TestUpstream;
  let second: TestUpstream;
  let lb: RunningLoadBalancer;

  beforeAll(async () => {
    // The same port on two loopback addresses: the "container" keeps its port, its address changes.
    const port = await findFreePort('127.0.0.1');
    first = await startTestUpstream('old', { host: '127.0.0.1', port });
    second = await startTestUpstream('new', { host: '127.0.0.2', port });
    dns = await startStubDns('gateway-1.test', '127.0.0.1');
    lb = await startLoadBalancer({
      kind: 'haproxy',
      upstreams: [{ id: 'g1', url: `http://gateway-1.test:${port}` }],
      // Re-resolve every second (the compose file uses 10s), so the test is short.
      resolver: { address: '127.0.0.1', port: dns.port, validS: 1 },
    });
  });
  afterAll(async () => {
    await lb?.close();
    await Promise.all([first?.close(), second?.close(), dns?.close()]);
  });

  it('routes to the new address once the name points there, without a reload', async () => {
    const instance = async () =>
      (await fetch(`${lb.url}/mcp`, { method: 'POST', body: '{}' })).headers.get('mcp-scale-instance');
    expect(dns.queries()).toBeGreaterThan(0);
    expect(await instance()).toBe('old');
    // "docker compose up" recreates the container: the old address dies, the name points elsewhere.
    await first.close();
    dns.point('127.0.0.2');
    await waitUntil(async () => (await instance()) === 'new', 'HAProxy to follow the new address', 30_000);
    expect(lb.output()).toContain('changed its IP from 127.0.0.1 to 127.0.0.2');
    expect(second.hits.get('/mcp')).toBeGreaterThan(0);
  }, 60_000);
});
