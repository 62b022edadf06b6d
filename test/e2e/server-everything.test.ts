import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/util/process.js';
import { connectV1, textOf } from '../helpers/clients.js';
import { startServe, waitForReadyInfo, type TestCluster } from '../helpers/cluster.js';

/**
 * A server nobody on this project wrote, scaled: the MCP reference server
 * `@modelcontextprotocol/server-everything` (SDK 1.x, Express, sessions in
 * process memory, 400 "No valid session ID" for a session it does not know),
 * run as each worker by `serve --server-cmd`. SDK 1.x clients talk to it
 * through the gateway; the worker holding a session is killed with SIGKILL
 * and the same session carries on on the other instance.
 */
const require = createRequire(import.meta.url);
const EVERYTHING = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** `mcp_scale_gateway_session_rehomes_total` by reason, from the gateway's /metrics (loopback). */
async function rehomesByReason(gatewayUrl: string): Promise<Record<string, number>> {
  const text = await fetch(new URL('/metrics', gatewayUrl)).then((r) => r.text());
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^mcp_scale_gateway_session_rehomes_total\{reason="([^"]+)"\} (\d+)$/gm))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

/** Which workers the gateway routes to right now, from its /_mcp-scale/status (loopback). */
async function healthyWorkers(gatewayUrl: string): Promise<string[]> {
  const status = (await fetch(new URL('/_mcp-scale/status', gatewayUrl)).then((r) => r.json())) as {
    workers: { id: string; healthy: boolean }[];
  };
  return status.workers.filter((w) => w.healthy).map((w) => w.id);
}

function sumOf(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('server-everything behind serve --instances 2 --server-cmd', () => {
  let cluster: TestCluster;
  let client: Client;
  /** Mcp-Scale-Instance of every response the client received, in order. */
  const instances: string[] = [];
  const extraClients: Client[] = [];

  beforeAll(async () => {
    cluster = await startServe(['--instances', '2', '--server-cmd', `node ${EVERYTHING} streamableHttp`]);
    client = await connectV1(cluster.url, { instances });
  });
  afterAll(async () => {
    await Promise.allSettled([client, ...extraClients].map((c) => c?.close()));
    await cluster?.stop();
  });

  const sessionOf = (c: Client) => (c.transport as StreamableHTTPClientTransport).sessionId;
  const other = (id: string) => (id === 'w1' ? 'w2' : 'w1');
  /**
   * A killed worker stays marked down in the gateway until a health check
   * (every second) finds it back; a session moves to the other instance
   * only while that one is up, so each failover starts from both up.
   */
  const bothUp = () =>
    expect
      .poll(() => healthyWorkers(cluster.info.gateway.url), { timeout: 15_000, interval: 50 })
      .toEqual(['w1', 'w2']);

  /**
   * SIGKILL for the whole instance. A --server-cmd worker is `/bin/sh -c CMD`
   * in its own process group, and the ready file gives the shell's pid (the
   * group's id): killing that pid alone leaves the server serving until the
   * supervisor notices the shell's exit and ends the group, so the test
   * kills the group at once, as `kill -9 -PID` would.
   */
  async function killInstance(id: string) {
    const current = await waitForReadyInfo(cluster.readyFile, () => true);
    const victim = current.instances.find((i) => i.id === id)!;
    expect(isProcessAlive(victim.pid)).toBe(true);
    process.kill(-victim.pid, 'SIGKILL');
    return {
      victim,
      restarted: () =>
        waitForReadyInfo(cluster.readyFile, (info) =>
          info.instances.some((i) => i.id === id && i.pid > 0 && i.pid !== victim.pid),
        ),
    };
  }

  it('lists its tools and calls a simple one through the gateway', async () => {
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    expect(sessionOf(client)).toBeTruthy();
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation']));
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
    expect(textOf(sum)).toBe('The sum of 2 and 40 is 42.');
    expect(['w1', 'w2']).toContain(instances.at(-1));
  });

  it('relays progress of its long-running tool while the call runs', async () => {
    const progress: { progress: number; total?: number; at: number }[] = [];
    const started = Date.now();
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 1.5, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push({ progress: p.progress, total: p.total, at: Date.now() }) },
    );
    const finished = Date.now();
    expect(textOf(result)).toBe('Long running operation completed. Duration: 1.5 seconds, Steps: 3.');
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    // Arrives as produced, not held until the end: the first step is due
    // 0.5 s in and the result 1.5 s in; generous margins for a loaded machine.
    expect(progress[0]!.at - started).toBeGreaterThanOrEqual(400);
    expect(progress[0]!.at).toBeLessThan(finished - 300);
  });

  it('keeps the session when the worker that owns it is killed with SIGKILL', async () => {
    await bothUp();
    const sessionId = sessionOf(client);
    const toolsBefore = (await client.listTools()).tools.map((t) => t.name).sort();
    const owner = instances.at(-1)!;
    const rehomesBefore = await rehomesByReason(cluster.info.gateway.url);
    const { victim, restarted } = await killInstance(owner);
    const seen = instances.length;

    // The supervisor restarts the worker ~100 ms later, so the gateway may
    // find it dead (its GET stream ends, connections are refused) or back
    // without the session (400): either way the session is replayed on the
    // other instance and the next calls just work.
    const toolsAfter = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(toolsAfter).toEqual(toolsBefore);
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    expect(textOf(echo)).toBe('Echo: still here');
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } });
    expect(textOf(sum)).toBe('The sum of 1 and 1 is 2.');

    expect(sessionOf(client)).toBe(sessionId);
    const after = instances.slice(seen);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(new Set(after)).toEqual(new Set([other(owner)]));
    const rehomes = await rehomesByReason(cluster.info.gateway.url);
    expect(sumOf(rehomes) - sumOf(rehomesBefore)).toBe(1);

    const info = await restarted();
    expect(info.instances.find((i) => i.id === owner)!.port).toBe(victim.port);
  });

  it('replays the session when the restarted worker answers 400 for it', async () => {
    // A client without a GET stream (the server may refuse one: 405), so
    // nothing tells the gateway of the death until the next call, which
    // then reaches the restarted worker: a new process that never saw the
    // session and says so with server-everything's 400.
    const seen: string[] = [];
    const noGetStream: typeof fetch = async (input, init) => {
      if ((init?.method ?? 'GET') === 'GET') return new Response(null, { status: 405 });
      const response = await fetch(input, init);
      const instance = response.headers.get('mcp-scale-instance');
      if (instance) seen.push(instance);
      return response;
    };
    await bothUp();
    const quiet = new Client({ name: 'no-get-stream', version: '1.0.0' });
    extraClients.push(quiet);
    await quiet.connect(new StreamableHTTPClientTransport(new URL(cluster.url), { fetch: noGetStream }));
    const sessionId = sessionOf(quiet);
    expect(textOf(await quiet.callTool({ name: 'echo', arguments: { message: 'one' } }))).toBe('Echo: one');
    const owner = seen.at(-1)!;
    const rehomesBefore = await rehomesByReason(cluster.info.gateway.url);

    const { restarted } = await killInstance(owner);
    const info = await restarted();
    const restartedPid = info.instances.find((i) => i.id === owner)!.pid;
    // Wait until the gateway routes to that instance again, so the call
    // below reaches the restarted process rather than a down mark.
    await bothUp();
    expect(isProcessAlive(restartedPid)).toBe(true);

    const count = seen.length;
    expect(textOf(await quiet.callTool({ name: 'echo', arguments: { message: 'two' } }))).toBe('Echo: two');
    expect(textOf(await quiet.callTool({ name: 'get-sum', arguments: { a: 3, b: 4 } }))).toBe(
      'The sum of 3 and 4 is 7.',
    );
    expect(sessionOf(quiet)).toBe(sessionId);
    expect(new Set(seen.slice(count))).toEqual(new Set([other(owner)]));
    const rehomes = await rehomesByReason(cluster.info.gateway.url);
    expect(sumOf(rehomes) - sumOf(rehomesBefore)).toBe(1);
    expect((rehomes['upstream-404'] ?? 0) - (rehomesBefore['upstream-404'] ?? 0)).toBe(1);
  });
});
