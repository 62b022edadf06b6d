import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { LruMap } from '../util/lru-map.js';

/**
 * The identity a gateway passes to workers in the `Mcp-Scale-Identity`
 * header, signed with the cluster secret so a worker can trust it (and a
 * client cannot forge one: gateways strip `mcp-scale-*` headers from
 * client requests). It is bound to one request: a timestamp the worker
 * checks within a skew window, and the MAC covers the HTTP method, the
 * session id the worker sees and the body, so a captured value is good for
 * that same request only, and only for a short while.
 *
 * Wire form: `v3.<base64url(JSON payload)>.<base64url(HMAC-SHA256)>`, the
 * payload `{u?, s?, k?, c?, t}`: user, scopes, client id, claims and
 * signing time (ms); the HMAC is over the payload, the method, the session
 * id and the body. One HMAC per request and no second digest: signing is on
 * the gateway's hot path (docs/performance.md, "Gateway CPU per call").
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

/** Claims whose payload a signer keeps (one per distinct identity: users, scopes, claims). */
const CLAIM_CACHE_SIZE = 1024;
/** How long a signer reuses one payload (its signing time): well inside the skew window. */
const PAYLOAD_REUSE_MS = 1000;

export class IdentitySigner {
  private readonly key: KeyObject;
  /** Claim → its payload fields as the start of a JSON object, and the last payload made of them. */
  private readonly claims = new LruMap<string, { prefix: string; t: number; payload: string }>(
    CLAIM_CACHE_SIZE,
  );

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = secretKey(secret);
  }

  /** The header value for this identity and this request. */
  sign(identity: Identity, request: SignedRequest): string {
    const payload = encodePayload(payloadPrefix(identity), this.now());
    return `v3.${payload}.${mac(this.key, payload, request)}`;
  }

  /** The header value for the identity an `identityClaim()` carries, bound to this request. */
  signClaim(claim: string, request: SignedRequest): string {
    const now = this.now();
    let entry = this.claims.get(claim);
    if (entry === undefined) {
      const identity = JSON.parse(
        Buffer.from(claim.slice('claim.'.length), 'base64url').toString('utf8'),
      ) as Identity;
      const prefix = payloadPrefix(identity);
      entry = { prefix, t: now, payload: encodePayload(prefix, now) };
      this.claims.set(claim, entry);
    } else if (now - entry.t >= PAYLOAD_REUSE_MS || now < entry.t) {
      entry.t = now;
      entry.payload = encodePayload(entry.prefix, now);
    }
    return `v3.${entry.payload}.${mac(this.key, entry.payload, request)}`;
  }
}

/** The payload's identity fields as the start of a JSON object, ready for `"t"`. */
function payloadPrefix(identity: Identity): string {
  const fields: Record<string, unknown> = {};
  if (identity.user !== undefined) fields.u = identity.user;
  if (identity.scopes && identity.scopes.length > 0) fields.s = identity.scopes;
  if (identity.clientId !== undefined) fields.k = identity.clientId;
  if (identity.claims !== undefined) fields.c = identity.claims;
  const json = JSON.stringify(fields);
  return json === '{}' ? '{' : `${json.slice(0, -1)},`;
}

function encodePayload(prefix: string, t: number): string {
  return Buffer.from(`${prefix}"t":${t}}`).toString('base64url');
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
  return {
    ...headers,
    [name]: signer.signClaim(claim, { ...request, sessionId: headers['mcp-session-id'] }),
  };
}

export type VerifiedIdentity = { ok: true; identity: Identity } | { ok: false; reason: string };

export function verifyIdentity(
  secret: string | KeyObject,
  header: string,
  request: SignedRequest,
  now = Date.now(),
  maxSkewMs = IDENTITY_MAX_SKEW_MS,
): VerifiedIdentity {
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== 'v3' || !parts[1] || !parts[2]) {
    return { ok: false, reason: 'unsigned or malformed identity' };
  }
  const key = typeof secret === 'string' ? lastKey(secret) : secret;
  const expected = Buffer.from(mac(key, parts[1], request));
  const given = Buffer.from(parts[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      ok: false,
      reason:
        'identity does not verify for this request (signed for another request, or with another secret)',
    };
  }
  let decoded: { u?: unknown; s?: unknown; k?: unknown; c?: unknown; t?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    return { ok: false, reason: 'malformed identity payload' };
  }
  if (typeof decoded.t !== 'number' || Math.abs(now - decoded.t) > maxSkewMs) {
    return { ok: false, reason: `identity too old or from the future (allowed skew ${maxSkewMs} ms)` };
  }
  const identity: Identity = {};
  if (typeof decoded.u === 'string') identity.user = decoded.u;
  if (Array.isArray(decoded.s)) identity.scopes = decoded.s.filter((s): s is string => typeof s === 'string');
  if (typeof decoded.k === 'string') identity.clientId = decoded.k;
  if (typeof decoded.c === 'object' && decoded.c !== null)
    identity.claims = decoded.c as Record<string, unknown>;
  return { ok: true, identity };
}

/** The cluster secret as a key object, made once per signer or verifier rather than per MAC. */
function secretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** A process verifies with one cluster secret: its key object is kept. */
let last: { secret: string; key: KeyObject } | undefined;
function lastKey(secret: string): KeyObject {
  if (last?.secret !== secret) last = { secret, key: secretKey(secret) };
  return last.key;
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

/** The MAC of a payload bound to one request: its method, the session id the worker sees, its body. */
function mac(key: KeyObject, payload: string, request: SignedRequest): string {
  const hmac = createHmac('sha256', key).update(
    `mcp-scale.identity:${payload}\n${request.method.toUpperCase()}\n${request.sessionId ?? ''}\n`,
  );
  if (request.body !== undefined) hmac.update(request.body);
  return hmac.digest('base64url');
}
