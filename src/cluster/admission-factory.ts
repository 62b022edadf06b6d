import type { ClusterConfig } from '../config/cluster-config.js';
import { anonymous, unlimited, type Authenticator, type Limiter } from '../gateway/admission.js';

/**
 * Builds the gateway's authenticator and limiter from the config.
 * (Authentication and rate limiting arrive with their own modules.)
 */
export async function createAdmission(
  config: ClusterConfig,
  redisUrl: string | undefined,
): Promise<{ authenticator: Authenticator; limiter: Limiter }> {
  void config;
  void redisUrl;
  return { authenticator: anonymous, limiter: unlimited };
}
