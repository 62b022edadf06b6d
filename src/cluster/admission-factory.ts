import type { ClusterConfig } from '../config/cluster-config.js';
import { unlimited, type Authenticator, type Limiter } from '../gateway/admission.js';
import { createAuthenticator } from '../gateway/auth/index.js';
import { proxyTrustFor } from '../http/client-address.js';
import { AttemptLimitedAuthenticator } from '../limits/failed-auth.js';
import { GatewayLimiter } from '../limits/gateway-limiter.js';
import { hasPolicies, policiesFrom } from '../limits/policies.js';

export interface AdmissionOptions {
  /** A stalled Redis fails a limiter call after this long (default 500 ms). */
  limiterTimeoutMs?: number;
}

/**
 * Builds the gateway's authenticator and limiter from the config:
 * `--auth` decides who the user is; `--rate-limit`, `--ip-rate-limit`,
 * `--tool-limit`, `--tool-cost` and `--block` what each user may spend,
 * counted in `redisUrl` (shared by every gateway) or in this gateway's
 * memory when there is no Redis. Bad settings throw UserError.
 */
export async function createAdmission(
  config: ClusterConfig,
  redisUrl: string | undefined,
  options: AdmissionOptions = {},
): Promise<{ authenticator: Authenticator; limiter: Limiter }> {
  const authenticator = createAuthenticator(config.auth);
  const policies = policiesFrom(config.limits);
  if (!hasPolicies(policies)) return { authenticator, limiter: unlimited };
  const limiter = await GatewayLimiter.create({
    policies,
    redisUrl,
    prefix: config.prefix,
    onRedisFailure: config.limits.onRedisFailure,
    clusterSecret: config.clusterSecret,
    commandTimeoutMs: options.limiterTimeoutMs,
  });
  // With an auth mode, --ip-rate-limit counts the requests whose credentials fail.
  const counted =
    config.auth.mode !== 'none' && policies.ip
      ? new AttemptLimitedAuthenticator(
          authenticator,
          limiter,
          proxyTrustFor(config.auth.trustProxy, config.auth.trustedProxies),
        )
      : authenticator;
  return { authenticator: counted, limiter };
}
