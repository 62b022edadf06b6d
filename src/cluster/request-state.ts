import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createRequestStateCodec, type RequestStateCodec } from '@modelcontextprotocol/server';
import { canonicalJson } from '../cache/cache-key.js';

/**
 * The cluster's 2026 `requestState` codec, shared by worker hosts (which
 * mint and verify it for the server) and gateways (which verify it to leave
 * a continuation uncounted).
 *
 * A state is bound with the SDK codec's `bind` to the method and the user
 * (what `bind` can see: the request's id, method and `_meta`, and the auth
 * info; never the JSON-RPC id, which changes between rounds by design), and
 * its payload seals the tool (or prompt) name and a digest of the arguments
 * of the round that minted it. A state presented by another user, on
 * another method, tool or arguments does not verify.
 */
export interface SealedState {
  /** Marks a state this cluster minted: it must verify, or the request is refused. */
  k: 'mcp-scale';
  /** The server's own payload. */
  p: unknown;
  /** tools/call tool or prompts/get prompt name of the minting round. */
  t?: string;
  /** Digest of that round's arguments. */
  a: string;
}

/** What a state is bound to, as the SDK passes it to `bind` (a ServerContext) or the gateway builds it. */
export interface BindingContext {
  mcpReq?: { method?: string };
  http?: { authInfo?: { extra?: Record<string, unknown> } };
}

export function stateBinding(ctx: BindingContext): string {
  const user = ctx.http?.authInfo?.extra?.user;
  return `${ctx.mcpReq?.method ?? ''}\0${typeof user === 'string' ? user : ''}`;
}

export function bindingContext(method: string, user: string | undefined): BindingContext {
  return { mcpReq: { method }, http: { authInfo: { extra: { user } } } };
}

export function createClusterStateCodec(secret: string): RequestStateCodec<SealedState> {
  return createRequestStateCodec<SealedState>({
    key: secret,
    bind: (ctx) => stateBinding(ctx as BindingContext),
  });
}

/** The name and arguments a request's round is about (tools/call, prompts/get), from its params. */
export function requestSubject(params: unknown): { name?: string; args: string } {
  const p = (params ?? {}) as { name?: unknown; arguments?: unknown };
  return {
    name: typeof p.name === 'string' ? p.name : undefined,
    args: createHash('sha256')
      .update(canonicalJson(p.arguments ?? {}))
      .digest('base64url')
      .slice(0, 22),
  };
}

/** Whether a sealed state was minted for this request's name and arguments. */
export function sealedFor(state: SealedState, params: unknown): boolean {
  const subject = requestSubject(params);
  return state.t === subject.name && state.a === subject.args;
}

/** Reads a state's clear-text envelope to see whether this cluster minted it (no trust placed in it). */
export function looksClusterMinted(state: string): boolean {
  const body = state.startsWith('v1.') ? state.slice(3, state.lastIndexOf('.')) : '';
  try {
    const envelope = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p?: { k?: unknown } };
    return envelope.p?.k === 'mcp-scale';
  } catch {
    return false;
  }
}

interface CurrentRequest {
  method: string;
  user?: string;
  params: unknown;
}

/**
 * The worker host's side: the codec a server gets as `ctx.requestState`.
 * The host runs each 2026 request inside `run()`, so `mint` knows the
 * method, user, tool and arguments it seals even when the server passes no
 * context (the demo does not), and `verify` checks them against the request
 * the state came back on.
 */
export class WorkerRequestState {
  private readonly codec: RequestStateCodec<SealedState>;
  private readonly current = new AsyncLocalStorage<CurrentRequest>();

  constructor(secret: string) {
    this.codec = createClusterStateCodec(secret);
  }

  run<T>(request: CurrentRequest, fn: () => T): T {
    return this.current.run(request, fn);
  }

  readonly mint = async (payload: unknown, ctx?: unknown): Promise<string> => {
    const request = this.current.getStore();
    const binding = request ? bindingContext(request.method, request.user) : ((ctx ?? {}) as BindingContext);
    const subject = requestSubject(request?.params);
    return this.codec.mint(
      { k: 'mcp-scale', p: payload, t: subject.name, a: subject.args },
      binding as never,
    );
  };

  readonly verify = async (state: string, ctx: unknown): Promise<unknown> => {
    const request = this.current.getStore();
    const binding = request ? bindingContext(request.method, request.user) : ((ctx ?? {}) as BindingContext);
    const sealed = await this.codec.verify(state, binding as never);
    if (request && !sealedFor(sealed, request.params)) throw new Error('bind');
    return sealed.p;
  };
}
