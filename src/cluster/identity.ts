import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The identity a gateway passes to workers in the `Mcp-Scale-Identity`
 * header, signed with the cluster secret so a worker can trust it (and a
 * client cannot forge one: gateways strip the header from client requests).
 * Wire form: `v1.<base64url(JSON {u})>.<base64url(HMAC-SHA256)>`.
 */
export interface Identity {
  /** The authenticated user; undefined for anonymous traffic. */
  user?: string;
}

export function generateClusterSecret(): string {
  return randomBytes(32).toString('base64url');
}

export class IdentitySigner {
  private readonly cache = new Map<string, string>();

  constructor(private readonly secret: string) {}

  /** Signed header value; cached per user because the gateway signs on every request. */
  sign(identity: Identity): string {
    const cacheKey = identity.user ?? '';
    let value = this.cache.get(cacheKey);
    if (value === undefined) {
      const payload = Buffer.from(
        JSON.stringify(identity.user === undefined ? {} : { u: identity.user }),
      ).toString('base64url');
      value = `v1.${payload}.${mac(this.secret, payload)}`;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, value);
    }
    return value;
  }
}

export type VerifiedIdentity = { ok: true; identity: Identity } | { ok: false; reason: string };

export function verifyIdentity(secret: string, header: string): VerifiedIdentity {
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1' || !parts[1] || !parts[2]) {
    return { ok: false, reason: 'unsigned or malformed identity' };
  }
  const expected = Buffer.from(mac(secret, parts[1]));
  const given = Buffer.from(parts[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'identity signature does not verify' };
  }
  try {
    const decoded = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { u?: unknown };
    return { ok: true, identity: typeof decoded.u === 'string' ? { user: decoded.u } : {} };
  } catch {
    return { ok: false, reason: 'malformed identity payload' };
  }
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
