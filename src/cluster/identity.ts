import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The identity a gateway passes to workers in the `Mcp-Scale-Identity`
 * header, signed with the cluster secret so a worker can trust it (and a
 * client cannot forge one: gateways strip `mcp-scale-*` headers from
 * client requests). It is bound to one request: a timestamp the worker
 * checks within a skew window, and a digest of the HTTP method, the session
 * id the worker sees and the body, so a captured value is good for that
 * same request only, and only for a short while.
 *
 * Wire form: `v2.<base64url(JSON payload)>.<base64url(HMAC-SHA256)>`, the
 * payload `{u?, s?, c?, k?, t, h}`: user, scopes, claims, client id,
 * signing time (ms) and request digest.
 */
export interface Identity {
  /** The authenticated user; undefined for anonymous traffic. */
  user?: string;
  /** Scopes the credential carried (`scope`/`scp` of a JWT). */
  scopes?: string[];
  /** The OAuth client (`client_id`/`azp` of a JWT). */
  clientId?: string;
  /** Claims of a verified JWT (bounded, see gateway/auth/jwt.ts). */
  claims?: Record<string, unknown>;
}

/** What a signature is bound to. */
export interface SignedRequest {
  method: string;
  /** The Mcp-Session-Id header the worker receives, if any. */
  sessionId?: string;
  body?: Buffer | string;
}

/**
 * How far a worker's clock may be from its gateway's, either way. Nodes run
 * NTP; 30 s covers a badly drifting one, and is also how long a captured
 * header could be replayed (for the same request only).
 */
export const IDENTITY_MAX_SKEW_MS = 30_000;

/** A user id longer than this is refused at authentication (it travels in a header). */
export const MAX_USER_ID_BYTES = 256;

export function generateClusterSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The digest of a request the identity is bound to. */
export function requestDigest(request: SignedRequest): string {
  const hash = createHash('sha256').update(`${request.method.toUpperCase()}\n${request.sessionId ?? ''}\n`);
  if (request.body !== undefined) hash.update(request.body);
  return hash.digest('base64url');
}

export class IdentitySigner {
  constructor(
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The header value for this identity and this request. */
  sign(identity: Identity, request: SignedRequest): string {
    const fields: Record<string, unknown> = {};
    if (identity.user !== undefined) fields.u = identity.user;
    if (identity.scopes && identity.scopes.length > 0) fields.s = identity.scopes;
    if (identity.clientId !== undefined) fields.k = identity.clientId;
    if (identity.claims !== undefined) fields.c = identity.claims;
    fields.t = this.now();
    fields.h = requestDigest(request);
    const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
    return `v2.${payload}.${mac(this.secret, payload)}`;
  }
}

/**
 * An identity not yet bound to a request: what the gateway's routing code
 * puts in the identity header of the headers it prepares. The one place
 * that sends to a worker (gateway/upstream.ts) seals it with `seal()` once
 * the method, session id and body are final. A worker refuses a claim.
 */
export function identityClaim(identity: Identity): string {
  return `claim.${Buffer.from(JSON.stringify(identity)).toString('base64url')}`;
}

export function isIdentityClaim(value: string | undefined): value is string {
  return value !== undefined && value.startsWith('claim.');
}

/** Replaces an identity claim in `headers` by the signed, request-bound value. */
export function sealIdentity(
  signer: IdentitySigner,
  headers: Record<string, string>,
  name: string,
  request: Omit<SignedRequest, 'sessionId'>,
): Record<string, string> {
  const claim = headers[name];
  if (!isIdentityClaim(claim)) return headers;
  const identity = JSON.parse(
    Buffer.from(claim.slice('claim.'.length), 'base64url').toString('utf8'),
  ) as Identity;
  return {
    ...headers,
    [name]: signer.sign(identity, { ...request, sessionId: headers['mcp-session-id'] }),
  };
}

export type VerifiedIdentity = { ok: true; identity: Identity } | { ok: false; reason: string };

export function verifyIdentity(
  secret: string,
  header: string,
  request: SignedRequest,
  now = Date.now(),
  maxSkewMs = IDENTITY_MAX_SKEW_MS,
): VerifiedIdentity {
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== 'v2' || !parts[1] || !parts[2]) {
    return { ok: false, reason: 'unsigned or malformed identity' };
  }
  const expected = Buffer.from(mac(secret, parts[1]));
  const given = Buffer.from(parts[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'identity signature does not verify' };
  }
  let decoded: { u?: unknown; s?: unknown; k?: unknown; c?: unknown; t?: unknown; h?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    return { ok: false, reason: 'malformed identity payload' };
  }
  if (typeof decoded.t !== 'number' || Math.abs(now - decoded.t) > maxSkewMs) {
    return { ok: false, reason: `identity too old or from the future (allowed skew ${maxSkewMs} ms)` };
  }
  if (decoded.h !== requestDigest(request)) {
    return { ok: false, reason: 'identity was signed for another request' };
  }
  const identity: Identity = {};
  if (typeof decoded.u === 'string') identity.user = decoded.u;
  if (Array.isArray(decoded.s)) identity.scopes = decoded.s.filter((s): s is string => typeof s === 'string');
  if (typeof decoded.k === 'string') identity.clientId = decoded.k;
  if (typeof decoded.c === 'object' && decoded.c !== null)
    identity.claims = decoded.c as Record<string, unknown>;
  return { ok: true, identity };
}

/**
 * An HMAC over `payload` for one purpose (a registry entry, ...), so a value
 * signed for one use never verifies for another.
 */
export function signFor(secret: string, purpose: string, payload: string): string {
  return createHmac('sha256', secret).update(`mcp-scale.${purpose}:${payload}`).digest('base64url');
}

export function verifyFor(secret: string, purpose: string, payload: string, signature: string): boolean {
  const expected = Buffer.from(signFor(secret, purpose, payload));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`mcp-scale.identity:${payload}`).digest('base64url');
}
