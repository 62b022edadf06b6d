import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ReadyInfo } from '../../src/cluster/supervisor.js';
import { connectV1, jsonOf } from '../helpers/clients.js';
import {
  CLI,
  expectAllGone,
  scratchDir,
  startServe,
  waitForReadyInfo,
  type TestCluster,
} from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * `serve --gateways 2`: two gateway processes behind one address (sharing
 * the port through Node's cluster module, or behind nginx). A gateway is
 * SIGKILLed while clients call tools: every call is answered (a call cut by
 * the kill is retried on the same session id), no session is lost, and the
 * supervisor restarts the gateway and rewrites the ready file.
 */

interface LoadStats {
  ok: number;
  /** Calls that failed with a transport error or a 502/503 and were sent again. */
  retried: number;
  /** 404 on a session the client still held. */
  lost: number;
  unexpected: string[];
}

const CLIENTS = 6;
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  return sum;
}

const REQUESTS = 'mcp_scale_gateway_requests_total';

/** One client's loop: a read-only call at a time, resent on a transport error, until told to stop. */
async function callUntil(client: V1Client, stop: () => boolean, stats: LoadStats, n: number) {
  let i = 0;
  while (!stop()) {
    const id = `p${String((i++ % 50) + 1).padStart(5, '0')}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const product = jsonOf<{ id: string }>(
          await client.callTool({ name: 'get_product', arguments: { id } }),
        );
        if (product.id !== id) stats.unexpected.push(`client ${n}: asked ${id}, got ${product.id}`);
        stats.ok++;
        break;
      } catch (error) {
        const message = String((error as Error).message);
        if (/\b404\b/.test(message)) {
          stats.lost++;
          return;
        }
        // The connection the call was on died with its gateway, or the balancer said 502/503.
        if (!/fetch failed|socket|ECONNRESET|terminated|other side closed|\b50[23]\b/i.test(message)) {
          stats.unexpected.push(`client ${n}: ${message}`);
          return;
        }
        stats.retried++;
        if (attempt >= 50) {
          stats.unexpected.push(`client ${n}: still failing after ${attempt} attempts: ${message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}

/** tools/call on a connection of its own (no keep-alive pool), so it may land on any gateway. */
function freshConnectionCall(url: string, sessionId: string): Promise<void> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'get_product', arguments: { id: 'p00001' } },
  });
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function killGatewayUnderLoad(extraArgs: string[]) {
  cluster = await startServe(['--instances', '2', '--gateways', '2', ...extraArgs]);
  const info = cluster.info;
  expect(info.gateways).toHaveLength(2);
  expect(new Set(info.gateways.map((g) => g.pid)).size).toBe(2);
  expect(info.gateway.pid).toBe(info.gateways[0]!.pid);
  // Each gateway answers for itself on its own port.
  for (const gateway of info.gateways) {
    const status = (await (await fetch(`http://127.0.0.1:${gateway.port}/_mcp-scale/status`)).json()) as {
      id: string;
      pid: number;
    };
    expect(status).toMatchObject({ id: gateway.id, pid: gateway.pid });
    expect((await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status).toBe(200);
  }

  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connectV1(info.url)));
  const sessionIds = clients.map((client) => (client.transport as { sessionId?: string }).sessionId);
  expect(sessionIds.every((id) => typeof id === 'string')).toBe(true);
  const stats: LoadStats = { ok: 0, retried: 0, lost: 0, unexpected: [] };
  let stopping = false;
  const loops = clients.map((client, n) => callUntil(client, () => stopping, stats, n));
  try {
    const metricsOf = (g: ReadyInfo['gateways'][number]) => `http://127.0.0.1:${g.port}/metrics`;
    // Both gateways carry calls before one dies.
    await waitUntil(
      async () =>
        (await counter(metricsOf(info.gateways[0]!), REQUESTS)) > 20 &&
        (await counter(metricsOf(info.gateways[1]!), REQUESTS)) > 20,
      'both gateways serving calls',
      30_000,
    );
    const victim = info.gateways[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const okAtKill = stats.ok;
    const after = await waitForReadyInfo(
      cluster.readyFile,
      (next) => next.gateways[0]!.pid !== victim.pid && next.gateways[0]!.pid !== 0,
    );
    expect(after.gateways[0]!.port).toBe(victim.port);
    expect(after.gateway.pid).toBe(after.gateways[0]!.pid);
    // The clients' keep-alive connections now sit on the survivor; new connections
    // reach the restarted gateway too, and it serves the sessions it never saw.
    await waitUntil(
      async () => {
        await freshConnectionCall(info.url, sessionIds[0]!);
        return (await counter(metricsOf(after.gateways[0]!), REQUESTS)) > 0;
      },
      'the restarted gateway serving a call on a new connection',
      30_000,
    );
    await waitUntil(() => stats.ok > okAtKill + CLIENTS * 10, 'calls after the restart', 30_000);
  } finally {
    stopping = true;
    await Promise.all(loops);
  }
  expect(stats.unexpected).toEqual([]);
  expect(stats.lost).toBe(0);
  // Same session ids to the end: nothing was re-initialised.
  expect(clients.map((client) => (client.transport as { sessionId?: string }).sessionId)).toEqual(sessionIds);
  await Promise.all(clients.map((client) => client.close()));
  return { stats, info: cluster.info };
}

describe('serve --gateways 2', () => {
  it(
    'shares one port (Node cluster): a SIGKILLed gateway loses no session and is restarted',
    { timeout: 120_000 },
    async () => {
      const { info } = await killGatewayUnderLoad([]);
      // /metrics on the shared port aggregates what each gateway counts on its own port.
      const after = JSON.parse(fs.readFileSync(cluster!.readyFile, 'utf8')) as ReadyInfo;
      // (Streams the clients closed are counted when each gateway sees them end:
      // compare once the counts are still, own totals read before and after.)
      const ownTotal = async () =>
        (
          await Promise.all(
            after.gateways.map((g) => counter(`http://127.0.0.1:${g.port}/metrics`, REQUESTS)),
          )
        ).reduce((a, b) => a + b, 0);
      let seen = { before: -1, shared: -2, after: -3 };
      await waitUntil(
        async () => {
          const before = await ownTotal();
          const shared = await counter(new URL('/metrics', info.url).href, REQUESTS);
          seen = { before, shared, after: await ownTotal() };
          return before === seen.after && shared === before;
        },
        'the shared /metrics equal to the sum of each gateway',
        15_000,
      ).catch(() => undefined);
      expect(seen.shared).toBe(seen.before);
      expect(seen.before).toBeGreaterThan(0);
      expect(cluster!.stderr()).toMatch(/\[g1\] exited \(SIGKILL\); restarting/);
      const pids = [...after.gateways.map((g) => g.pid), ...after.instances.map((w) => w.pid)];
      expect(await cluster!.stop()).toBe(0);
      expect(await expectAllGone(pids)).toEqual([]);
    },
  );

  it(
    'behind nginx: a SIGKILLed gateway loses no session and is restarted',
    { timeout: 120_000 },
    async () => {
      const { info } = await killGatewayUnderLoad(['--lb', 'nginx']);
      expect(info.lb?.kind).toBe('nginx');
      expect(new Set(info.gateways.map((g) => g.port)).size).toBe(2);
    },
  );

  it('refuses several gateways in memory mode, in one line', () => {
    const home = scratchDir();
    const result = spawnSync(process.execPath, [CLI, 'serve', '--gateways', '2', '--redis', 'memory'], {
      env: { ...process.env, MCP_SCALE_HOME: home },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.includes('starting'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--gateways 2 needs Redis/);
  });
});
