import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * With --admin-token, a browser cannot send a Bearer header to a page it
 * navigates to: the token is typed once into the dashboard's login form and
 * exchanged for this HttpOnly cookie. Its value is an HMAC of the token (the
 * token itself never sits in the browser); changing the token ends every
 * cookie. SameSite=Strict keeps other sites from riding on it.
 */
export const ADMIN_COOKIE = 'mcp_scale_admin';
const MAX_AGE_S = 12 * 3600;

export function adminCookieValue(adminToken: string): string {
  return createHmac('sha256', adminToken).update('mcp-scale dashboard cookie v1').digest('base64url');
}

export function hasAdminCookie(req: IncomingMessage, adminToken: string): boolean {
  const header = req.headers.cookie;
  if (!header) return false;
  const expected = Buffer.from(adminCookieValue(adminToken));
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== ADMIN_COOKIE) continue;
    const given = Buffer.from(part.slice(eq + 1).trim());
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}

export function tokenMatches(given: string, adminToken: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(adminToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Set-Cookie for a good login; Secure when the page was reached over HTTPS. */
export function adminCookieHeader(adminToken: string, secure: boolean): string {
  return [
    `${ADMIN_COOKIE}=${adminCookieValue(adminToken)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${MAX_AGE_S}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
