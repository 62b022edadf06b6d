import { startLocalRedis, type LocalRedis } from '../../src/redis/local-server.js';

/**
 * A private redis-server on a free loopback port (`--save "" --appendonly no`),
 * stopped by its pid. Tests never share the machine's Redis.
 */
export async function startTestRedis(args: string[] = []): Promise<LocalRedis> {
  return startLocalRedis({ args });
}
