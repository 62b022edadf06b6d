import type { RedisClient } from '../redis/connection.js';
import type { KeySchema } from '../redis/keys.js';
import { scanKeys } from '../redis/scan.js';

/** What a worker announces about itself in the Redis registry. */
export interface WorkerAnnouncement {
  id: string;
  url: string;
  pid: number;
  host: string;
  startedAt: number;
}

/**
 * A worker's registry entry: a key that expires unless heartbeated, so a
 * worker that stops beating (crash, partition) drops out by itself.
 */
export class WorkerRegistration {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly announcement: WorkerAnnouncement,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    const beat = () => {
      this.redis
        .set(
          this.keys.worker(this.announcement.id),
          JSON.stringify(this.announcement),
          'PX',
          this.intervalMs * 3,
        )
        .catch(() => {
          // Redis away: the entry expires and gateways that still reach this
          // worker by URL keep using it; the next beat re-registers.
        });
    };
    beat();
    this.timer = setInterval(beat, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.del(this.keys.worker(this.announcement.id)).catch(() => {});
  }
}

/** Every live worker in the registry. */
export async function readRegistry(redis: RedisClient, keys: KeySchema): Promise<WorkerAnnouncement[]> {
  const found: WorkerAnnouncement[] = [];
  const names: string[] = [];
  for await (const key of scanKeys(redis, keys.workerPattern())) names.push(key);
  const values = await Promise.all(names.map((key) => redis.get(key)));
  for (const value of values) {
    if (!value) continue;
    try {
      found.push(JSON.parse(value) as WorkerAnnouncement);
    } catch {
      // a foreign or corrupt entry: skip it
    }
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}
