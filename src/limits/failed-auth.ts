import type { IncomingMessage } from 'node:http';
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
    private readonly trustProxy: boolean,
  ) {}

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const result = await this.inner.authenticate(req);
    if (result.ok || result.status !== 401) return result;
    return (await this.limiter.chargeFailedAuth(clientIpOf(req, this.trustProxy))) ?? result;
  }
}

/**
 * The address a limit is keyed on: the socket's peer, or with --trust-proxy
 * the first X-Forwarded-For entry (the same rule the router applies), since
 * otherwise any client could pick its own key.
 */
export function clientIpOf(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
