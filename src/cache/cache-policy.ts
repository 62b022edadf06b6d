import { DEMO_CACHE_TTL_MS, type CacheConfig, type CacheScopeName } from '../config/cluster-config.js';

/**
 * Which tool results may be cached, for how long, and for whom. A result is
 * cached only when the operator gave the tool a TTL and the server says the
 * tool only reads (`readOnlyHint: true`), or the operator forced it.
 */
export interface CacheSettings {
  /** Tool → TTL (ms). A tool without one is never cached. */
  ttlMs: Record<string, number>;
  /** Tool → scope; tools not listed are `public`. */
  scope: Record<string, CacheScopeName>;
  /** Tools cached although not annotated readOnlyHint. */
  force: string[];
  /** Give up on the store after this long and call the backend. */
  timeoutMs: number;
}

export interface ToolDecision {
  ttlMs: number;
  scope: CacheScopeName;
}

export type ToolVerdict =
  { cache: true; decision: ToolDecision } | { cache: false; reason: 'no-ttl' | 'not-read-only' };

/**
 * The settings a worker runs with. The demo shop gets its documented
 * defaults when the operator gave no TTLs, and `get_user` is always
 * user-scoped there unless the operator says otherwise: it returns the
 * caller's own profile.
 */
export function resolveCacheSettings(config: CacheConfig | undefined, demo: boolean): CacheSettings {
  const ttlMs = { ...(config?.ttlMs ?? {}) };
  const useDemoTtls = demo && Object.keys(ttlMs).length === 0;
  return {
    ttlMs: useDemoTtls ? { ...DEMO_CACHE_TTL_MS } : ttlMs,
    scope: { ...(demo ? { get_user: 'user' as const } : {}), ...(config?.scope ?? {}) },
    force: [...(config?.force ?? [])],
    timeoutMs: config?.timeoutMs ?? 50,
  };
}

export function decideTool(
  settings: CacheSettings,
  tool: string,
  readOnlyHint: boolean | undefined,
): ToolVerdict {
  const ttlMs = settings.ttlMs[tool];
  if (ttlMs === undefined || !(ttlMs > 0)) return { cache: false, reason: 'no-ttl' };
  if (readOnlyHint !== true && !settings.force.includes(tool))
    return { cache: false, reason: 'not-read-only' };
  return { cache: true, decision: { ttlMs, scope: settings.scope[tool] ?? 'public' } };
}

/** True when any tool could ever be cached (saves wrapping servers for nothing). */
export function anyToolCacheable(settings: CacheSettings): boolean {
  return Object.values(settings.ttlMs).some((ttl) => ttl > 0);
}
