import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { OperationalError } from '../errors.js';
import { findFreePort } from '../util/net.js';
import { startLocalRedis, type LocalRedis } from './local-server.js';

/**
 * `serve --redis ha`: a private primary, one replica and three sentinels on
 * free loopback ports, all password-protected (requirepass + masterauth on
 * the data nodes, sentinel auth-pass for the sentinels to reach them, and a
 * second password for the sentinels themselves). The shape a production
 * Sentinel deployment has, small enough for a laptop and for the tests.
 */
export interface LocalRedisHa {
  /** redis-sentinel://:<password>@127.0.0.1:<s1>,…/<master>?sentinelPassword=<…> (secret: keep it private). */
  url: string;
  masterName: string;
  /** The roles now: swapped when the sentinels promote the replica (see onSwitch). */
  readonly primary: LocalRedis;
  readonly replica: LocalRedis;
  sentinels: LocalRedis[];
  /** Holds the sentinels' config files (which they rewrite); removed by close(). */
  dir: string;
  /** Every process, for reaping after a supervisor was SIGKILLed. */
  pids(): number[];
  /** Called after the sentinels announce +switch-master (primary and replica are then swapped). */
  onSwitch(listener: () => void): void;
  /** Stops every process by pid and removes the config folder. Safe twice. */
  close(): Promise<void>;
}

export interface LocalRedisHaOptions {
  masterName?: string;
  /** Sentinel `down-after-milliseconds`: how long the primary may be silent before it is called down. */
  downAfterMs?: number;
  /** Sentinel `failover-timeout`. */
  failoverTimeoutMs?: number;
  /** How long to wait for replication and sentinel discovery to settle. */
  readyTimeoutMs?: number;
}

export const HA_MASTER_NAME = 'mcp-scale';

export async function startLocalRedisHa(options: LocalRedisHaOptions = {}): Promise<LocalRedisHa> {
  const masterName = options.masterName ?? HA_MASTER_NAME;
  const password = randomBytes(18).toString('hex');
  const sentinelPassword = randomBytes(18).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-ha-'));
  fs.chmodSync(dir, 0o700);
  const started: LocalRedis[] = [];
  const watchersToClose: Redis[] = [];
  const closeAll = async () => {
    for (const watcher of watchersToClose) watcher.disconnect();
    // Sentinels first, so they do not fail over a primary that is being stopped.
    await Promise.all(started.filter((s) => sentinels.includes(s)).map((s) => s.close()));
    await Promise.all(started.map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const sentinels: LocalRedis[] = [];
  try {
    const primary = await startLocalRedis({ password });
    started.push(primary);
    const replica = await startLocalRedis({
      password,
      config: [`replicaof 127.0.0.1 ${primary.port}`],
    });
    started.push(replica);
    for (let i = 0; i < 3; i++) {
      const sentinel = await startSentinel(dir, i, {
        masterName,
        primaryPort: primary.port,
        password,
        sentinelPassword,
        downAfterMs: options.downAfterMs ?? 2000,
        failoverTimeoutMs: options.failoverTimeoutMs ?? 10_000,
      });
      sentinels.push(sentinel);
      started.push(sentinel);
    }
    await waitSettled(primary, sentinels, masterName, password, sentinelPassword, options.readyTimeoutMs);
    const hosts = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    const roles = { primary, replica };
    const listeners: (() => void)[] = [];
    // Every sentinel announces the switch; the first announcement naming a new port wins.
    const watchers = sentinels.map((s) => {
      const watcher = new Redis({ host: '127.0.0.1', port: s.port, password: sentinelPassword });
      watcher.on('error', () => {});
      void watcher.subscribe('+switch-master').catch(() => {});
      watcher.on('message', (_channel: string, message: string) => {
        const [name, , , , newPort] = message.split(' ');
        if (name !== masterName || Number(newPort) === roles.primary.port) return;
        if (Number(newPort) !== roles.replica.port) return;
        [roles.primary, roles.replica] = [roles.replica, roles.primary];
        for (const listener of listeners) listener();
      });
      return watcher;
    });
    watchersToClose.push(...watchers);
    let closed: Promise<void> | undefined;
    return {
      url: `redis-sentinel://:${password}@${hosts}/${masterName}?sentinelPassword=${sentinelPassword}`,
      masterName,
      get primary() {
        return roles.primary;
      },
      get replica() {
        return roles.replica;
      },
      sentinels,
      dir,
      pids: () => started.map((s) => s.pid),
      onSwitch: (listener) => listeners.push(listener),
      close() {
        closed ??= closeAll();
        return closed;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

interface SentinelSetup {
  masterName: string;
  primaryPort: number;
  password: string;
  sentinelPassword: string;
  downAfterMs: number;
  failoverTimeoutMs: number;
}

async function startSentinel(dir: string, index: number, setup: SentinelSetup): Promise<LocalRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await findFreePort();
    const file = path.join(dir, `sentinel-${index}.conf`);
    const name = setup.masterName;
    const lines = [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      // The sentinels' own password, and the one they use with each other.
      `requirepass ${setup.sentinelPassword}`,
      `sentinel sentinel-pass ${setup.sentinelPassword}`,
      `sentinel monitor ${name} 127.0.0.1 ${setup.primaryPort} 2`,
      `sentinel auth-pass ${name} ${setup.password}`,
      `sentinel down-after-milliseconds ${name} ${setup.downAfterMs}`,
      `sentinel failover-timeout ${name} ${setup.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    try {
      return await startLocalRedis({ port, sentinelConfigFile: file });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Ready when the replica is in sync and every sentinel knows the replica and
 * the two other sentinels: before that, a primary failure could not be
 * failed over (no quorum, or no replica to promote).
 */
async function waitSettled(
  primary: LocalRedis,
  sentinels: LocalRedis[],
  masterName: string,
  password: string,
  sentinelPassword: string,
  timeoutMs = 30_000,
): Promise<void> {
  const clients = [
    new Redis({ port: primary.port, host: '127.0.0.1', password, lazyConnect: true }),
    ...sentinels.map(
      (s) => new Redis({ port: s.port, host: '127.0.0.1', password: sentinelPassword, lazyConnect: true }),
    ),
  ];
  for (const client of clients) client.on('error', () => {});
  const [primaryClient, ...sentinelClients] = clients as [Redis, ...Redis[]];
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      const replication = await primaryClient.info('replication');
      const synced = /slave0:.*state=online/.test(replication);
      const views = await Promise.all(
        sentinelClients.map(async (client) => {
          const fields = (await client.call('SENTINEL', 'MASTER', masterName)) as string[];
          const map = new Map<string, string>();
          for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
          return map;
        }),
      );
      const discovered = views.every(
        (view) => view.get('num-slaves') === '1' && view.get('num-other-sentinels') === '2',
      );
      if (synced && discovered) return;
      last = `replica ${synced ? 'in sync' : 'not in sync'}; sentinels see ${views
        .map((v) => `${v.get('num-slaves')} replica/${v.get('num-other-sentinels')} sentinels`)
        .join(', ')}`;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new OperationalError(`Redis HA did not settle in ${timeoutMs} ms (${last})`, 'REDIS_HA_START');
  } finally {
    for (const client of clients) client.disconnect();
  }
}
