import type { RequestStateCodec } from '@modelcontextprotocol/server';
import {
  bindingContext,
  createClusterStateCodec,
  looksClusterMinted,
  sealedFor,
  type SealedState,
} from '../cluster/request-state.js';
import type { ClassifiedPost } from '../protocol/classify.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';

/**
 * 2026-era multi-round-trip requests: the server answers round one with
 * `input_required` (an elicitation, say), and the client sends the same
 * request again, on a new id, with `inputResponses` and the server's sealed
 * `requestState`. That second leg carries the user's answer, so like a
 * 2025 elicitation reply it must never be limited or lost: round one was
 * counted already.
 *
 * Only a state this cluster minted (cluster/request-state.ts) that verifies
 * for THIS request marks a continuation: same user and method (the codec's
 * bind), same tool and arguments (sealed in the payload), not expired. A
 * cluster-minted state that does not verify is refused (a replay, another
 * user's state, a state moved onto another tool); a state minted by some
 * other codec (a server with its own key) is an ordinary, counted request.
 */
export interface ContinuationVerdict {
  continuations: Set<JsonRpcMessage>;
  /** The first request whose cluster-minted state did not verify. */
  invalid?: JsonRpcMessage;
}

export class ContinuationCheck {
  private readonly codec: RequestStateCodec<SealedState> | undefined;

  constructor(clusterSecret: string | undefined) {
    this.codec =
      clusterSecret && Buffer.byteLength(clusterSecret) >= 32
        ? createClusterStateCodec(clusterSecret)
        : undefined;
  }

  /** Sorts the POST's requests that carry a state (usually none: no crypto then). */
  async check(
    classified: ClassifiedPost | undefined,
    user: string | undefined,
  ): Promise<ContinuationVerdict> {
    const verdict: ContinuationVerdict = { continuations: new Set() };
    if (!this.codec || !classified || classified.era !== 'modern') return verdict;
    for (const message of classified.requests) {
      const params = message.params as { inputResponses?: unknown; requestState?: unknown } | undefined;
      if (typeof params?.requestState !== 'string' || !looksClusterMinted(params.requestState)) continue;
      try {
        const sealed = await this.codec.verify(
          params.requestState,
          bindingContext(String(message.method), user) as never,
        );
        if (!sealedFor(sealed, params)) throw new Error('bind');
        if (params.inputResponses !== undefined) verdict.continuations.add(message);
      } catch {
        verdict.invalid ??= message;
      }
    }
    return verdict;
  }
}
