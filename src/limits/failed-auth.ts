import type { IncomingMessage } from 'node:http';
import { clientAddressOf, type ProxyTrust } from '../http/client-address.js';
import type { AuthResult, Authenticator } from '../gateway/admission.js';
import type { GatewayLimiter } from './gateway-limiter.js';

/**
 * With --auth apikey|jwt, the only requests without a user are those whose
 * credentials fail: they are what `--ip-rate-limit` counts, per client IP.
 * Until the IP's budget is spent they get 401, then 429 with Retry-After,
 * so a misconfigured or guessing client is told to back off. Credentials
 * are still checked first, so a valid user behind the same address is
 * never locked out by someone else's failures.
 */
export class AttemptLimitedAuthenticator implements Authenticator {
  constructor(
    private readonly inner: Authenticator,
    private readonly limiter: GatewayLimiter,
    private readonly proxyTrust: ProxyTrust | undefined,
  ) {}

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const result = await this.inner.authenticate(req);
    if (result.ok || result.status !== 401) return result;
    return (await this.limiter.chargeFailedAuth(clientAddressOf(req, this.proxyTrust))) ?? result;
  }
}
