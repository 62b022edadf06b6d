/**
 * The one key schema. Every key and channel mcp-scale writes starts with the
 * configurable prefix (default `mcp-scale:`), so one Redis can host several
 * clusters and admin commands can SCAN exactly what is theirs.
 *
 *   {p}session:{id}            hash   a gateway-owned 2025 session (see gateway/session-record.ts)
 *   {p}rehome:{id}             string short lock held while one gateway re-homes a session
 *   {p}user-sessions:{owner}   zset   a user's live sessions scored by last use (--max-sessions-per-user)
 *   {p}worker:{id}             string worker registry entry (JSON), expires unless heartbeated
 *   {p}rl:{key}                string rate-limiter-flexible counters (fixed window per key), where
 *                                     {key} is user:{u}, ip:{addr} or tool:{tool}:{u} (limits/limit-keys.ts)
 *   {p}rl:_policies            hash   each policy's quota, published by gateways for `limits show`
 *   {p}cache:{tool}:{scope}:{era}:{hash}   string cached tool result (JSON); see cache/cache-key.ts
 *   {p}cache-lock:{tool}:{scope}:{era}:{hash}  string single-flight lock for one entry
 *   {p}cache-stats:{tool}      hash   hit/miss/bypass counters for `cache stats`
 *   {p}demo:*                  demo server's shared shop state
 *
 * Redis Cluster: every command mcp-scale sends names exactly one key (the Lua
 * scripts take KEYS[1] only; deletes and reads of several keys are one command
 * per key), so no key needs a {hash tag} and keys spread over every primary.
 * Keep it so: a multi-key command here must put its keys in one slot.
 *
 * Channels (pub/sub):
 *   {p}bus:{topic}             cluster bus topics (server events, session invalidation, cache flush)
 */
export const DEFAULT_PREFIX = 'mcp-scale:';

export class KeySchema {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {}

  session(id: string): string {
    return `${this.prefix}session:${id}`;
  }
  sessionPattern(): string {
    return `${this.prefix}session:*`;
  }
  sessionIdFromKey(key: string): string {
    return key.slice(`${this.prefix}session:`.length);
  }
  userSessions(owner: string): string {
    return `${this.prefix}user-sessions:${owner}`;
  }
  rehomeLock(id: string): string {
    return `${this.prefix}rehome:${id}`;
  }
  worker(id: string): string {
    return `${this.prefix}worker:${id}`;
  }
  workerPattern(): string {
    return `${this.prefix}worker:*`;
  }
  rateLimitPrefix(policy: string): string {
    return `${this.prefix}rl:${policy}`;
  }
  rateLimitPattern(): string {
    return `${this.prefix}rl:*`;
  }
  /** Segments must already be encoded (cache/cache-key.ts): no `:` and no glob characters. */
  cacheEntry(tool: string, scope: string, era: string, hash: string): string {
    return `${this.prefix}cache:${tool}:${scope}:${era}:${hash}`;
  }
  cacheEntryPrefix(): string {
    return `${this.prefix}cache:`;
  }
  cachePattern(tool = '*', scope = '*'): string {
    return `${this.prefix}cache:${tool}:${scope}:*`;
  }
  cacheLock(entryKey: string): string {
    return `${this.prefix}cache-lock:${entryKey.slice(this.prefix.length)}`;
  }
  cacheStats(tool: string): string {
    return `${this.prefix}cache-stats:${tool}`;
  }
  cacheStatsPattern(): string {
    return `${this.prefix}cache-stats:*`;
  }
  demo(name: string): string {
    return `${this.prefix}demo:${name}`;
  }
  channel(topic: string): string {
    return `${this.prefix}bus:${topic}`;
  }
}
