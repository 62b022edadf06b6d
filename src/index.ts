/**
 * mcp-scale's library API: everything the CLI does, as typed functions.
 * Explicit named exports only; each subsystem keeps its own index for the
 * details (src/gen, src/bench, src/plan, src/limits).
 */

// Errors and the shared syntax of durations, rates and sizes.
export { UserError, OperationalError, ThresholdError, exitCodeFor } from './errors.js';
export { parseDuration, formatDuration } from './config/duration.js';
export { parseRate, formatRate, type RateSpec } from './config/rate.js';
export { parseSize } from './config/size.js';
export {
  resolveClusterConfig,
  defaultClusterConfig,
  readConfigFile,
  DEMO_CACHE_TTL_MS,
  type ClusterConfig,
  type AuthConfig,
  type LimitsConfig,
  type CacheConfig,
} from './config/cluster-config.js';
// The settings registry: every setting declared once; resolution, child argv/env, docs.
export {
  SETTINGS,
  resolveSettings,
  roleInvocation,
  showValue,
  type ResolveRequest,
  type ResolvedSettings,
  type RoleInvocation,
  type Setting,
  type CommandName,
} from './config/settings/index.js';

// The three roles.
export {
  startCluster,
  type StartClusterOptions,
  type RunningCluster,
  type ReadyInfo,
} from './cluster/supervisor.js';
export { startGateway, type Gateway, type GatewayOptions, type GatewayStatus } from './gateway/gateway.js';
export { startWorkerHost, type WorkerHost, type WorkerHostOptions } from './worker/host.js';
export type { ServerFactory, ServerFactoryContext, ClusterBusLike } from './worker/server-module.js';
export { createDemoServerFactory } from './worker/demo/demo-server.js';
export { runWorker, runGateway, type WorkerRoleOptions, type GatewayRoleOptions } from './cluster/roles.js';
export { createAdmission } from './cluster/admission-factory.js';
export { generateClusterSecret, IdentitySigner, verifyIdentity, type Identity } from './cluster/identity.js';
export { findRunningCluster, stateHome, type ClusterState } from './cluster/state-file.js';

// Gateway seams: who the user is, and whether the request may go on.
export type {
  Authenticator,
  Limiter,
  AdmissionRequest,
  AdmissionResult,
  Refusal,
} from './gateway/admission.js';
export { createAuthenticator } from './gateway/auth/index.js';
export { GatewayLimiter } from './limits/index.js';

// Redis.
export { connectRedis, redactRedisUrl, type RedisClient } from './redis/connection.js';
export { startLocalRedis, type LocalRedis } from './redis/local-server.js';
export { KeySchema, DEFAULT_PREFIX } from './redis/keys.js';

// Tool-result cache.
export { invalidateEntries, type InvalidationFilter, type InvalidationResult } from './cache/invalidation.js';

// What the admin commands do.
export {
  resolveAdminTarget,
  connectAdmin,
  type AdminConnection,
  type AdminTarget,
} from './admin/admin-redis.js';
export { listSessions, showSession, killSession, type SessionSummary } from './admin/sessions.js';
export { cacheStats, listCacheEntries, flushCache, type FlushRequest } from './admin/cache.js';
export { showLimit, listLimits, resetLimit, type LimitSummary } from './admin/limits.js';

// gen, bench, plan.
export { renderTarget, writeGenerated, checkGenerated, resolveGenOptions } from './gen/index.js';
export { runGen, type GenRequest } from './gen/gen-command.js';
export { startLoadBalancer, type LoadBalancerOptions, type RunningLoadBalancer } from './gen/run-lb.js';
export { runBench, runBenchCommand, BenchEngine, findCapacity, type BenchReport } from './bench/index.js';
export { planTopology, readCapacityReport, formatPlan } from './plan/index.js';
