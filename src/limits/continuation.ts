import { createRequestStateCodec } from '@modelcontextprotocol/server';
import type { ClassifiedPost } from '../gateway/classify.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';

/**
 * 2026-era multi-round-trip requests: the server answers round one with
 * `input_required` (an elicitation, say), and the client sends the same
 * request again, on a new id, with `inputResponses` and the server's sealed
 * `requestState`. That second leg carries the user's answer, so like a
 * 2025 elicitation reply it must never be limited or lost: round one was
 * counted already.
 *
 * Only a `requestState` that verifies against the cluster secret (what the
 * worker host's `ctx.requestState` mints) marks a continuation, so a client
 * cannot skip the limiter by adding made-up fields. A state stays valid for
 * its lifetime (10 minutes by default), as it does at the server.
 */
export class ContinuationCheck {
  private readonly codec;

  constructor(clusterSecret: string | undefined) {
    this.codec =
      clusterSecret && Buffer.byteLength(clusterSecret) >= 32
        ? createRequestStateCodec({ key: clusterSecret })
        : undefined;
  }

  /** The requests of the POST that are verified continuations (usually none: no crypto then). */
  async find(classified: ClassifiedPost | undefined): Promise<Set<JsonRpcMessage>> {
    const found = new Set<JsonRpcMessage>();
    if (!this.codec || !classified || classified.era !== 'modern') return found;
    for (const message of classified.requests) {
      const params = message.params as { inputResponses?: unknown; requestState?: unknown } | undefined;
      if (params?.inputResponses === undefined || typeof params.requestState !== 'string') continue;
      try {
        await this.codec.verify(params.requestState, {} as never);
        found.add(message);
      } catch {
        // forged, expired or minted with another key: an ordinary, counted request
      }
    }
    return found;
  }
}
