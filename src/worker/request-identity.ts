import type { IncomingMessage } from 'node:http';
import { verifyIdentity, type Identity } from '../cluster/identity.js';
import type { Authenticator } from '../gateway/admission.js';
import { HEADER } from '../protocol/headers.js';
import { errorBody, RPC } from '../protocol/jsonrpc.js';

export interface WorkerIdentityOptions {
  secret: string;
  /** false: this worker made its secret up (none was given), so no signature can verify: say so. */
  secretConfigured?: boolean;
  /**
   * `--direct-workers`: clients reach this worker without a gateway (a load
   * balancer with session/ip/none affinity, or a benchmark of the worker
   * itself), so requests without a gateway's signature are served: checked
   * by `authenticator` when one is set, else anonymous. Otherwise a worker
   * is behind gateways and refuses them: anyone on the host could
   * otherwise skip the gateway's authentication and limits.
   */
  acceptUnsigned: boolean;
  authenticator?: Authenticator;
}

export type WorkerIdentity =
  | { ok: true; identity: Identity }
  | { ok: false; status: number; headers: Record<string, string>; body: string };

function forbidden(reason: string): WorkerIdentity {
  return {
    ok: false,
    status: 403,
    headers: { 'content-type': 'application/json' },
    body: errorBody(null, RPC.serverError, `Forbidden: ${reason}`),
  };
}

/**
 * Who a request to the worker is from: a gateway's identity, verified and
 * bound to this very request (method, session id, body; see
 * cluster/identity.ts), or, on a direct worker only, the client itself.
 */
export async function identifyWorkerRequest(
  req: IncomingMessage,
  body: Buffer | undefined,
  options: WorkerIdentityOptions,
): Promise<WorkerIdentity> {
  const header = req.headers[HEADER.identity];
  if (header !== undefined) {
    const sessionHeader = req.headers[HEADER.sessionId];
    const verified = verifyIdentity(options.secret, String(header), {
      method: req.method ?? 'GET',
      sessionId: Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader,
      body,
    });
    if (verified.ok) return { ok: true, identity: verified.identity };
    return forbidden(
      options.secretConfigured === false
        ? 'this worker has no cluster secret; set MCP_SCALE_CLUSTER_SECRET to the same value for every gateway and worker'
        : verified.reason,
    );
  }
  if (!options.acceptUnsigned) {
    return forbidden(
      'this worker serves requests signed by a gateway; it was not started with --direct-workers',
    );
  }
  if (!options.authenticator) return { ok: true, identity: {} };
  const auth = await options.authenticator.authenticate(req);
  if (!auth.ok) return auth;
  return { ok: true, identity: auth.identity ?? { user: auth.user } };
}

/**
 * What the hosted server is told about the caller: the SDKs hand this to
 * tools as `authInfo` (v2: `ctx.http.authInfo`; 1.x: `extra.authInfo`). The
 * client's raw token never reaches the server (`token` is empty): the
 * gateway verified it and passes who it belongs to instead.
 */
export function authInfoFor(identity: Identity) {
  return {
    token: '',
    clientId: identity.clientId ?? identity.user ?? 'anonymous',
    scopes: identity.scopes ?? [],
    extra: { user: identity.user, ...(identity.claims ? { claims: identity.claims } : {}) },
  };
}
