import type { RedisClient } from '../redis/connection.js';
import { signFor, verifyFor } from './identity.js';
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
 * worker that stops beating (crash, partition) drops out by itself. The
 * entry is signed with the cluster secret: a client of Redis without the
 * secret cannot announce a fake worker and receive user traffic.
 */
export class WorkerRegistration {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly announcement: WorkerAnnouncement,
    private readonly secret: string,
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
        signedEntry(this.announcement, this.secret),
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

const PURPOSE = 'registry';

/** `{"entry": "<announcement JSON>", "sig": "<HMAC>"}`: the signature covers the exact bytes. */
export function signedEntry(announcement: WorkerAnnouncement, secret: string): string {
  const entry = JSON.stringify(announcement);
  return JSON.stringify({ entry, sig: signFor(secret, PURPOSE, entry) });
}

export interface RegistryRead {
  workers: WorkerAnnouncement[];
  /** Keys whose value is unsigned, forged (another secret) or unreadable: ignored. */
  rejected: string[];
}

/** Every live worker in the registry whose entry verifies with the cluster secret. */
export async function readRegistry(
  redis: RedisClient,
  keys: KeySchema,
  secret: string,
): Promise<RegistryRead> {
  const workers: WorkerAnnouncement[] = [];
  const rejected: string[] = [];
  const names: string[] = [];
  for await (const key of scanKeys(redis, keys.workerPattern())) names.push(key);
  const values = await Promise.all(names.map((key) => redis.get(key)));
  values.forEach((value, i) => {
    if (!value) return;
    try {
      const { entry, sig } = JSON.parse(value) as { entry?: unknown; sig?: unknown };
      if (typeof entry !== 'string' || typeof sig !== 'string' || !verifyFor(secret, PURPOSE, entry, sig)) {
        rejected.push(names[i] as string);
        return;
      }
      workers.push(JSON.parse(entry) as WorkerAnnouncement);
    } catch {
      rejected.push(names[i] as string);
    }
  });
  return { workers: workers.sort((a, b) => a.id.localeCompare(b.id)), rejected };
}
