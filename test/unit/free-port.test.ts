import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange, findFreePort } from '../../src/util/net.js';

function bind(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

describe('findFreePort', () => {
  it('hands out distinct, bindable ports below the kernel’s ephemeral range', async () => {
    const [low, high] = ephemeralPortRange();
    expect(low).toBeGreaterThan(0);
    expect(high).toBeGreaterThanOrEqual(low);
    const ports = await Promise.all(Array.from({ length: 200 }, () => findFreePort()));
    expect(new Set(ports).size).toBe(200);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      // Outgoing connections take their source ports from this range; ours never.
      expect(port).toBeLessThan(low);
    }
    const servers = await Promise.all(ports.slice(0, 20).map(bind));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });
});
