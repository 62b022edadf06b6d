import type { ClusterBus } from '../../bus/cluster-bus.js';
import type { RedisClient } from '../../redis/connection.js';
import type { KeySchema } from '../../redis/keys.js';

/**
 * The demo shop's mutable state, shared by every worker: inventory deltas and
 * whether the beta tool is switched on. With Redis the counts live there
 * (HINCRBY, so concurrent writers never lose an update); in memory mode each
 * worker keeps its own copy and changes travel over the cluster bus.
 */
export interface ShopState {
  inventoryDelta(id: string): Promise<number>;
  adjustInventory(id: string, delta: number): Promise<number>;
  betaEnabled(): boolean;
  setBeta(enabled: boolean): Promise<void>;
  /** Called on every worker when the beta flag changes anywhere. */
  onBetaChange(listener: (enabled: boolean) => void): () => void;
}

const BETA_TOPIC = 'demo-beta';
const INVENTORY_TOPIC = 'demo-inventory';

abstract class BetaFlag {
  protected beta = false;
  private readonly betaListeners = new Set<(enabled: boolean) => void>();

  constructor(protected readonly bus: ClusterBus) {
    bus.subscribe(BETA_TOPIC, (message) => this.applyBeta(Boolean(message)));
  }

  betaEnabled(): boolean {
    return this.beta;
  }

  onBetaChange(listener: (enabled: boolean) => void): () => void {
    this.betaListeners.add(listener);
    return () => this.betaListeners.delete(listener);
  }

  protected applyBeta(enabled: boolean): void {
    if (this.beta === enabled) return;
    this.beta = enabled;
    for (const listener of this.betaListeners) listener(enabled);
  }
}

export class RedisShopState extends BetaFlag implements ShopState {
  constructor(
    bus: ClusterBus,
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {
    super(bus);
  }

  /** Reads the shared beta flag once at start, so a restarted worker agrees with the rest. */
  async load(): Promise<void> {
    try {
      this.applyBeta((await this.redis.get(this.keys.demo('beta'))) === '1');
    } catch {
      // Redis away at start: the flag arrives with the next toggle.
    }
  }

  async inventoryDelta(id: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.demo('inventory'), id)) ?? 0);
  }

  async adjustInventory(id: string, delta: number): Promise<number> {
    return this.redis.hincrby(this.keys.demo('inventory'), id, delta);
  }

  async setBeta(enabled: boolean): Promise<void> {
    await this.redis.set(this.keys.demo('beta'), enabled ? '1' : '0');
    this.bus.publish(BETA_TOPIC, enabled);
  }
}

export class MemoryShopState extends BetaFlag implements ShopState {
  private readonly deltas = new Map<string, number>();

  constructor(bus: ClusterBus) {
    super(bus);
    bus.subscribe(INVENTORY_TOPIC, (message) => {
      const { id, delta } = message as { id: string; delta: number };
      this.deltas.set(id, (this.deltas.get(id) ?? 0) + delta);
    });
  }

  async inventoryDelta(id: string): Promise<number> {
    return this.deltas.get(id) ?? 0;
  }

  async adjustInventory(id: string, delta: number): Promise<number> {
    // The bus delivers to this process's own listener synchronously.
    this.bus.publish(INVENTORY_TOPIC, { id, delta });
    return this.deltas.get(id) ?? 0;
  }

  async setBeta(enabled: boolean): Promise<void> {
    this.bus.publish(BETA_TOPIC, enabled);
  }
}
