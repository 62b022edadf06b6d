import { Redis } from 'ioredis';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import type { LocalRedisHa } from '../../src/redis/local-ha.js';
import { waitUntil } from './wait.js';

/** A direct connection to one sentinel of a local HA set (its own password). */
export function sentinelClient(ha: LocalRedisHa, index = 0): Redis {
  const target = parseRedisUrl(ha.url);
  if (target.kind !== 'sentinel') throw new Error('not a sentinel URL');
  const client = new Redis({
    host: '127.0.0.1',
    port: ha.sentinels[index]!.port,
    password: target.sentinelPassword,
  });
  client.on('error', () => {});
  return client;
}

/** The port the sentinels currently name as the primary. */
export async function currentPrimaryPort(sentinel: Redis, masterName: string): Promise<number> {
  const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [
    string,
    string,
  ];
  return Number(port);
}

/** Waits until the sentinels have promoted another node (the signal, not a sleep). */
export async function waitForPromotion(
  ha: LocalRedisHa,
  fromPort: number,
  timeoutMs = 30_000,
): Promise<number> {
  const sentinel = sentinelClient(ha);
  try {
    let port = fromPort;
    await waitUntil(
      async () => {
        port = await currentPrimaryPort(sentinel, ha.masterName).catch(() => fromPort);
        return port !== fromPort;
      },
      'the sentinels to promote the replica',
      timeoutMs,
    );
    return port;
  } finally {
    sentinel.disconnect();
  }
}

/** A direct connection to one data node of a local HA set (the data password). */
export function nodeClient(ha: LocalRedisHa, port: number): Redis {
  const target = parseRedisUrl(ha.url);
  if (target.kind !== 'sentinel') throw new Error('not a sentinel URL');
  const client = new Redis({ host: '127.0.0.1', port, password: target.password });
  client.on('error', () => {});
  return client;
}
