import type { IncomingMessage } from 'node:http';
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { MAX_USER_ID_BYTES, type Identity } from '../../cluster/identity.js';
import { UserError } from '../../errors.js';
import type { AuthResult, Authenticator } from '../admission.js';
import {
  presentedCredential,
  unauthorized,
  verifierUnavailable,
  type ChallengeOptions,
} from './challenge.js';

export interface JwtOptions extends ChallengeOptions {
  /** HS256 shared secret (`--jwt-secret`). */
  secret?: string;
  /** JWKS endpoint for asymmetric keys (`--jwks-url`). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Clock skew tolerated on exp/nbf, in seconds (default 5). */
  clockToleranceSec?: number;
  /** Accept tokens without `exp` (`--jwt-allow-no-exp`); by default they are refused: they never expire. */
  allowNoExp?: boolean;
}

/** Claims forwarded to the server as they are; the rest only when the whole set stays small. */
const MAX_FORWARDED_CLAIMS_BYTES = 2048;

/** Asymmetric algorithms accepted from a JWKS (never `none`, never HS* with a public key). */
const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/**
 * `--auth jwt`: a Bearer JWT verified with jose against `--jwt-secret`
 * (HS256) or `--jwks-url` (keys fetched and cached by createRemoteJWKSet),
 * checking the signature, exp/nbf, and `--jwt-issuer` / `--jwt-audience`
 * when given. The user is the `sub` claim.
 */
export class JwtAuthenticator implements Authenticator {
  private readonly getKey: JWTVerifyGetKey;
  private readonly verifyOptions: JWTVerifyOptions;

  constructor(private readonly options: JwtOptions) {
    if (!options.secret && !options.jwksUrl)
      throw new UserError('--auth jwt needs --jwt-secret or --jwks-url');
    const secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    let jwks: JWTVerifyGetKey | undefined;
    if (options.jwksUrl) {
      let url: URL;
      try {
        url = new URL(options.jwksUrl);
      } catch {
        throw new UserError(`--jwks-url '${options.jwksUrl}' is not a URL`);
      }
      jwks = createRemoteJWKSet(url, { timeoutDuration: 3000 });
    }
    // An HS* token needs the shared secret, anything else the JWKS.
    this.getKey = async (header, token) => {
      if (header.alg?.startsWith('HS')) {
        if (secret) return secret;
        throw new errors.JOSEAlgNotAllowed('HMAC tokens need --jwt-secret');
      }
      if (jwks) return jwks(header, token);
      throw new errors.JOSEAlgNotAllowed(`${header.alg ?? 'unknown'} tokens need --jwks-url`);
    };
    this.verifyOptions = {
      algorithms: [...(secret ? ['HS256'] : []), ...(jwks ? JWKS_ALGORITHMS : [])],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockToleranceSec ?? 5,
      requiredClaims: options.allowNoExp ? [] : ['exp'],
    };
  }

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const token = presentedCredential(req);
    if (token === undefined) return unauthorized(this.options);
    try {
      const { payload } = await jwtVerify(token, this.getKey, this.verifyOptions);
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        return unauthorized(this.options, { description: 'the token has no sub claim' });
      }
      // The user id travels to workers in a header, keys limits and caches.
      if (Buffer.byteLength(payload.sub) > MAX_USER_ID_BYTES) {
        return unauthorized(this.options, {
          description: `the token's sub claim is longer than ${MAX_USER_ID_BYTES} bytes`,
        });
      }
      return { ok: true, user: payload.sub, verified: true, identity: identityOf(payload) };
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || isFetchFailure(error)) {
        return verifierUnavailable('the JWKS endpoint did not answer');
      }
      return unauthorized(this.options, { description: describe(error) });
    }
  }
}

/** What the server is told about a verified token: user, scopes, client, and its claims when small. */
function identityOf(payload: JWTPayload): Identity {
  const scope = payload.scope ?? payload.scp;
  const scopes =
    typeof scope === 'string'
      ? scope.split(' ').filter(Boolean)
      : Array.isArray(scope)
        ? scope.filter((s): s is string => typeof s === 'string')
        : undefined;
  const client = payload.client_id ?? payload.azp;
  const claims =
    Buffer.byteLength(JSON.stringify(payload)) <= MAX_FORWARDED_CLAIMS_BYTES ? payload : undefined;
  return {
    user: payload.sub,
    ...(scopes ? { scopes: scopes.slice(0, 64) } : {}),
    ...(typeof client === 'string' && client.length <= MAX_USER_ID_BYTES ? { clientId: client } : {}),
    ...(claims ? { claims: claims as Record<string, unknown> } : {}),
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'the token is for another audience';
    if (error.claim === 'iss') return 'the token is from another issuer';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'exp') return 'the token has no exp claim (--jwt-allow-no-exp accepts such tokens)';
    return `the token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key in the JWKS matches the token';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  return 'the token is malformed';
}

/** createRemoteJWKSet rethrows fetch's errors (connection refused, DNS) and JWKSInvalid for bad responses. */
function isFetchFailure(error: unknown): boolean {
  if (error instanceof errors.JOSEError) return error instanceof errors.JWKSInvalid;
  return error instanceof TypeError || (error instanceof Error && error.name === 'AbortError');
}
