/** The store was slow or failing: the call goes to the backend instead. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

/**
 * Bounds every store round trip by the cache timeout (`--cache-timeout`,
 * default 50 ms). After a few failures or timeouts in a row the store is
 * skipped for a short while, so a stalled Redis costs a few timeouts, not
 * one per call; a single slow answer (a busy event loop) does not trip it.
 */
export class StoreGuard {
  private unavailableUntil = 0;
  private failuresInARow = 0;
  private static readonly TRIP_AFTER = 3;

  constructor(
    private readonly timeoutMs: number,
    private readonly breakerMs: number,
  ) {}

  get available(): boolean {
    return Date.now() >= this.unavailableUntil;
  }

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.available) throw new StoreUnavailable('cache store recently failed; skipping it');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailable(`cache store slower than ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      const value = await Promise.race([operation(), timeout]);
      this.failuresInARow = 0;
      return value;
    } catch (error) {
      if (++this.failuresInARow >= StoreGuard.TRIP_AFTER) {
        this.unavailableUntil = Date.now() + this.breakerMs;
        this.failuresInARow = 0;
      }
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(String(error));
    } finally {
      clearTimeout(timer);
    }
  }
}
