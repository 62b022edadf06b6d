/** Rate limiting at the gateway: policies, counters in Redis, headers, and the admin view. */
export { GatewayLimiter, type GatewayLimiterOptions } from './gateway-limiter.js';
export { AttemptLimitedAuthenticator } from './failed-auth.js';
export { clientAddressOf, proxyTrustFor, ProxyTrust } from '../http/client-address.js';
export {
  policiesFrom,
  hasPolicies,
  allPolicies,
  toolPolicyName,
  USER_POLICY,
  IP_POLICY,
  type PolicySet,
  type PolicySpec,
} from './policies.js';
export { chargesFor, type Charge } from './request-cost.js';
export { rateLimitHeaders, limitedBody, type Standing } from './headers.js';
export { redisKeyOf, limitKeyOf, policyOfKey, readPolicies, type PublishedPolicy } from './limit-keys.js';
