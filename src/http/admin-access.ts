import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackAddress } from '../util/net.js';
import { hasAdminCookie } from './admin-cookie.js';
import { checkHostAndOrigin, type HostPolicy } from './host-validation.js';

/** Why an operational request is refused: the status and a one-line reason. */
export interface AdminRefusal {
  status: number;
  error: string;
}

/**
 * The gate in front of every operational endpoint of a gateway or worker.
 * First the DNS-rebinding check (Host/Origin, as on the MCP endpoint, but a
 * probe may omit Host), for all of them: a rebinding page must not read
 * /healthz (pids, sessions) either. Then, for the admin ones (/metrics,
 * /_mcp-scale/*): with `--admin-token`, a Bearer token is required from
 * everyone, loopback included (or, where `cookie` is set, the dashboard's
 * HttpOnly cookie that the token was exchanged for); without one, loopback
 * peers only.
 */
export function checkOpsAccess(
  req: IncomingMessage,
  policy: HostPolicy,
  admin: { required: boolean; token?: string; cookie?: boolean },
): AdminRefusal | undefined {
  const rejected = checkHostAndOrigin(req, policy, true);
  if (rejected) return { status: 403, error: `Forbidden: ${rejected}` };
  if (!admin.required) return undefined;
  if (admin.token !== undefined) {
    return bearerMatches(req.headers.authorization, admin.token) ||
      (admin.cookie === true && hasAdminCookie(req, admin.token))
      ? undefined
      : { status: 401, error: 'a Bearer admin token is required (--admin-token)' };
  }
  return isLoopbackAddress(req.socket.remoteAddress)
    ? undefined
    : { status: 403, error: 'admin endpoints answer loopback clients only (or set --admin-token)' };
}

/** Constant-time comparison (digests, so lengths never leak either). */
function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(header), digest(`Bearer ${token}`));
}
