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
  /**
   * Set when the worker has started to drain (SIGTERM): gateways stop
   * choosing it at once and re-home its sessions on their next request.
   */
  draining?: boolean;
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
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /** Announces the drain now (and in every later beat), so gateways need not wait for a health check. */
  async markDraining(): Promise<void> {
    this.announcement.draining = true;
    await this.beat();
  }

  private async beat(): Promise<void> {
    await this.redis
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
