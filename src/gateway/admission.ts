import type { IncomingMessage } from 'node:http';
import type { Identity } from '../cluster/identity.js';
import type { ClassifiedPost, Era } from '../protocol/classify.js';

/** A refusal the gateway sends as is (401, 429, 503 …). */
export interface Refusal {
  ok: false;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The rate-limit policy that refused (429s), for metrics and traces. */
  policy?: string;
}

/**
 * `verified`: the gateway checked a credential (API key, JWT), which then
 * stops at the gateway; `identity` is what the worker is told instead.
 */
export type AuthResult = { ok: true; user?: string; verified?: boolean; identity?: Identity } | Refusal;

/** Who is calling: `--auth none|apikey|jwt`. */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<AuthResult>;
}

export interface AdmissionRequest {
  req: IncomingMessage;
  clientIp: string;
  user?: string;
  era: Era;
  /** The parsed POST; undefined for GET/DELETE (they carry no JSON-RPC request). */
  classified?: ClassifiedPost;
}

export type AdmissionResult = { ok: true; headers: Record<string, string> } | Refusal;

/** Rate limiting: decides whether a request may go on, and which headers tell the client where it stands. */
export interface Limiter {
  admit(request: AdmissionRequest): Promise<AdmissionResult>;
  /** For /readyz and status: the limiter's view of its backend. */
  status?(): { degraded: boolean; detail: string };
  /** The policy names a 429 may carry, so their counters exist before the first refusal. */
  policyNames?(): string[];
  close?(): Promise<void>;
}

export const anonymous: Authenticator = {
  async authenticate() {
    return { ok: true };
  },
};

export const unlimited: Limiter = {
  async admit() {
    return { ok: true, headers: {} };
  },
};
