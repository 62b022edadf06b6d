import type { RedisClient } from './connection.js';
import { Cluster } from 'ioredis';

/**
 * Every key matching a pattern, via SCAN (never KEYS, which blocks Redis).
 * On a Redis Cluster each master is scanned in turn.
 */
export async function* scanKeys(client: RedisClient, pattern: string, count = 500): AsyncGenerator<string> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      for (const key of keys) yield key;
    } while (cursor !== '0');
  }
}

/** UNLINKs (non-blocking delete) every key matching the pattern; returns how many. */
export async function unlinkMatching(
  client: RedisClient,
  pattern: string,
  filter: (key: string) => boolean = () => true,
): Promise<number> {
  let removed = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    // One key per call keeps this correct on a Redis Cluster (keys may live in different slots).
    const results = await Promise.all(batch.map((key) => client.unlink(key)));
    removed += results.reduce((sum, n) => sum + n, 0);
    batch = [];
  };
  for await (const key of scanKeys(client, pattern)) {
    if (!filter(key)) continue;
    batch.push(key);
    if (batch.length >= 200) await flush();
  }
  await flush();
  return removed;
}
