import type { AuthConfig } from '../../config/cluster-config.js';
import { anonymous, type Authenticator } from '../admission.js';
import { ApiKeyAuthenticator, loadApiKeys } from './api-keys.js';
import { JwtAuthenticator } from './jwt.js';

export { ApiKeyAuthenticator, loadApiKeys, parseApiKeys } from './api-keys.js';
export { presentedCredential, unauthorized } from './challenge.js';
export { JwtAuthenticator, type JwtOptions } from './jwt.js';

/**
 * Who is calling, from `--auth none|apikey|jwt`: used by the gateway, and
 * by a worker that is reached without a gateway in front (it then checks
 * requests that carry no signed identity itself).
 */
export function createAuthenticator(auth: AuthConfig): Authenticator {
  const challenge = { resourceMetadata: auth.resourceMetadata };
  switch (auth.mode) {
    case 'none':
      return anonymous;
    case 'apikey':
      return new ApiKeyAuthenticator(loadApiKeys(auth.apiKeysFile ?? ''), challenge);
    case 'jwt':
      return new JwtAuthenticator({
        ...challenge,
        secret: auth.jwtSecret,
        jwksUrl: auth.jwksUrl,
        issuer: auth.jwtIssuer,
        audience: auth.jwtAudience,
        allowNoExp: auth.jwtAllowNoExp,
      });
  }
}
