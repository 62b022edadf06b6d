import type { IncomingMessage } from 'node:http';
import { errorBody, RPC } from '../../protocol/jsonrpc.js';
import type { Refusal } from '../admission.js';

/** How a request presented credentials: `Authorization: Bearer <x>` or `X-API-Key: <x>`. */
export function presentedCredential(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const apiKey = req.headers['x-api-key'];
  const value = Array.isArray(apiKey) ? apiKey[0] : apiKey;
  return value && value.trim() ? value.trim() : undefined;
}

export interface ChallengeOptions {
  /** RFC 9728 protected-resource metadata URL (`--resource-metadata`). */
  resourceMetadata?: string;
}

const quoted = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * 401 with `WWW-Authenticate: Bearer` (RFC 6750). With credentials that
 * failed, `error="invalid_token"` and a description; always
 * `resource_metadata="…"` when configured, which is how MCP's authorization
 * spec (after RFC 9728) tells a client where to learn how to get a token.
 * The body is a JSON-RPC error (id null: the body was not read yet).
 */
export function unauthorized(
  options: ChallengeOptions,
  failure?: { description: string; error?: 'invalid_token' | 'invalid_request' },
): Refusal {
  const params: string[] = [];
  if (options.resourceMetadata) params.push(`resource_metadata=${quoted(options.resourceMetadata)}`);
  if (failure) {
    params.push(`error=${quoted(failure.error ?? 'invalid_token')}`);
    params.push(`error_description=${quoted(failure.description)}`);
  }
  const message = failure ? `Unauthorized: ${failure.description}` : 'Unauthorized: credentials required';
  return {
    ok: false,
    status: 401,
    headers: {
      'content-type': 'application/json',
      'www-authenticate': params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer',
    },
    body: errorBody(null, RPC.serverError, message),
  };
}

/** The token could not be checked (JWKS endpoint down): not the client's fault, so 503, not 401. */
export function verifierUnavailable(detail: string): Refusal {
  return {
    ok: false,
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '5' },
    body: errorBody(null, RPC.unavailable, `Credentials cannot be verified right now: ${detail}`),
  };
}
