/**
 * Cluster-wide pub/sub between workers (and gateways): 2026 server events
 * for `subscriptions/listen`, session invalidation, cache flushes, the demo
 * shop's shared state. Delivery is at-most-once and best effort, like Redis
 * pub/sub itself; anything that must survive lives in the store, not here.
 *
 * A publisher's own subscribers receive its messages synchronously, so a
 * single-process setup behaves the same as a cluster.
 */
export interface ClusterBus {
  publish(topic: string, message: unknown): void;
  subscribe(topic: string, listener: (message: unknown) => void): () => void;
  close(): Promise<void>;
}

/** Local listener bookkeeping shared by every bus implementation. */
export class ListenerSet {
  private readonly listeners = new Map<string, Set<(message: unknown) => void>>();

  add(topic: string, listener: (message: unknown) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  deliver(topic: string, message: unknown): void {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(message);
      } catch (error) {
        console.error(`[bus] listener for ${topic} failed:`, error);
      }
    }
  }

  topics(): string[] {
    return [...this.listeners.keys()];
  }
}

/** In-process only: a single-process cluster, and tests of components alone. */
export class LocalClusterBus implements ClusterBus {
  private readonly set = new ListenerSet();
  publish(topic: string, message: unknown): void {
    this.set.deliver(topic, message);
  }
  subscribe(topic: string, listener: (message: unknown) => void): () => void {
    return this.set.add(topic, listener);
  }
  async close(): Promise<void> {}
}
