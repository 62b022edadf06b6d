import { SETUP_METHODS, type ClientBehaviour, type Era, type ResponseRecord, type Step } from '../types.js';
import { classifyError } from './classify-error.js';
import {
  createEraConnection,
  type CallOptions,
  type ClientKind,
  type EraConnection,
  type ToolResultLike,
} from './era-connection.js';
import { ResponseProbe, type FetchLike } from './response-probe.js';

/**
 * A simulated MCP client: one era connection, the client behaviours the
 * user chose, and one request at a time. Every request it sends becomes a
 * ResponseRecord whose latency runs from the intended send time.
 */
export interface VirtualUserDeps {
  url: string;
  behaviour: ClientBehaviour;
  timeoutMs: number;
  headers: Record<string, string>;
  /** The HTTP engine under the SDK transports (one keep-alive pool per run). */
  fetch: FetchLike;
  /** ms since the bench started. */
  clock: () => number;
  record: (record: ResponseRecord) => void;
  /** The SDK clients or the lean wire client (--client). */
  client?: ClientKind;
  /** Aborted when the run ends hard (after the graceful stop): the user closes its client. */
  signal: AbortSignal;
}

export class VirtualUser {
  /** Iterations this user has started (scenarios use it to walk sequences). */
  iteration = 0;
  /** Iterations that ran to the end (their request answered, failed or timed out). */
  completed = 0;
  /** Time spent opening sessions inside iterations, ms (the closed model's arithmetic leaves it out). */
  setupMs = 0;
  /** Time from each request's send to its answer, ms. */
  requestMs = 0;
  /** Do not send before this time (Retry-After honoured), ms since start. */
  notBefore = 0;
  private connection: EraConnection | undefined;
  private sessionLost = false;
  private readonly probe: ResponseProbe;

  constructor(
    readonly index: number,
    readonly era: Era,
    private readonly deps: VirtualUserDeps,
  ) {
    this.probe = new ResponseProbe(deps.headers, deps.fetch);
    // One listener per user, not one per request: closing the client rejects what is in flight.
    deps.signal.addEventListener('abort', () => void this.close(), { once: true });
  }

  get connected(): boolean {
    return this.connection !== undefined;
  }

  /** Opens (or re-opens) the session; false when that failed (already recorded). */
  async connect(intendedAt: number): Promise<boolean> {
    await this.connection?.close(false);
    this.connection = undefined;
    this.sessionLost = false;
    const connection = createEraConnection(this.era, this.deps.url, this.probe.fetch, this.deps.client);
    this.probe.reset();
    const method = this.era === '2025' ? 'initialize' : 'server/discover';
    try {
      await connection.connect(this.callOptions());
      this.connection = connection;
      this.emit(intendedAt, method, undefined, {
        ok: true,
        ...(connection.sessionId ? { sessionId: connection.sessionId, sessionOpened: true } : {}),
        ...(connection.protocolVersion ? { protocolVersion: connection.protocolVersion } : {}),
      });
      return true;
    } catch (error) {
      await connection.close(false);
      this.emitError(intendedAt, method, undefined, error);
      return false;
    }
  }

  /** Runs one iteration: (re)connects when needed, then sends the step. */
  async execute(step: Step, intendedAt: number): Promise<void> {
    this.iteration += 1;
    try {
      await this.runIteration(step, intendedAt);
    } finally {
      if (!this.deps.signal.aborted) this.completed += 1;
    }
  }

  private async runIteration(step: Step, intendedAt: number): Promise<void> {
    let sendAt = intendedAt;
    const mustConnect =
      !this.connection ||
      this.deps.behaviour.sessionPerCall ||
      (this.sessionLost && this.deps.behaviour.reinitOn404);
    if (mustConnect) {
      const connected = await this.connect(intendedAt);
      sendAt = this.deps.clock();
      this.setupMs += sendAt - intendedAt;
      if (!connected) return;
    }
    const connection = this.connection;
    if (!connection) return;
    await this.send(connection, step, sendAt);
    const answeredAt = this.deps.clock();
    this.requestMs += answeredAt - sendAt;
    if (this.deps.behaviour.sessionPerCall) {
      await connection.close(true);
      this.setupMs += this.deps.clock() - answeredAt;
      if (this.connection === connection) this.connection = undefined;
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close(!this.sessionLost);
  }

  private async send(connection: EraConnection, step: Step, sendAt: number): Promise<void> {
    const tool = step.method === 'tools/call' ? step.tool : undefined;
    let progressEvents = 0;
    const options = this.callOptions(
      step.method === 'tools/call' && step.progress ? () => (progressEvents += 1) : undefined,
    );
    this.probe.reset();
    try {
      let result: ToolResultLike | undefined;
      if (step.method === 'tools/call') result = await connection.callTool(step.tool, step.args, options);
      else if (step.method === 'tools/list') await connection.listTools(options);
      else await connection.ping(options);
      const cache = cacheMarker(result);
      this.emit(sendAt, step.method, tool, {
        ok: result?.isError !== true,
        ...(result?.isError === true
          ? { errorKind: 'tool_error', errorMessage: 'tool returned isError' }
          : {}),
        ...(cache ? { cache } : {}),
        ...(progressEvents > 0 ? { progressEvents } : {}),
      });
    } catch (error) {
      this.emitError(sendAt, step.method, tool, error);
    }
  }

  private callOptions(onProgress?: () => void): CallOptions {
    return { timeoutMs: this.deps.timeoutMs, ...(onProgress ? { onProgress } : {}) };
  }

  private emitError(intendedAt: number, method: string, tool: string | undefined, error: unknown): void {
    const failure = classifyError(error, this.probe.lastFailure ?? this.probe.last);
    this.emit(intendedAt, method, tool, {
      ok: false,
      errorKind: failure.kind,
      errorMessage: failure.message,
      ...(failure.status !== undefined ? { status: failure.status } : {}),
      ...(failure.rpcCode !== undefined ? { rpcCode: failure.rpcCode } : {}),
    });
  }

  private emit(
    intendedAt: number,
    method: string,
    tool: string | undefined,
    fields: Partial<ResponseRecord> & { ok: boolean },
  ): void {
    const at = this.deps.clock();
    const probed = this.probe.last;
    const sessionId = fields.sessionId ?? this.connection?.sessionId;
    const record: ResponseRecord = {
      at,
      intendedAt,
      latencyMs: Math.max(0, at - intendedAt),
      era: this.era,
      vu: this.index,
      method,
      ...(tool ? { tool } : {}),
      ...(probed ? { status: probed.status } : {}),
      ...(probed?.instance ? { instance: probed.instance } : {}),
      ...(probed?.rateLimitHeaders ? { rateLimitHeaders: probed.rateLimitHeaders } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...fields,
    };
    if (probed?.status === 429) {
      record.limited = true;
      if (probed.retryAfterMs !== undefined) {
        record.retryAfterMs = probed.retryAfterMs;
        if (this.deps.behaviour.honourRetryAfter) this.notBefore = at + probed.retryAfterMs;
      }
    }
    // A 404 on a request that carried our session id: the server no longer knows the session.
    if (probed?.status === 404 && sessionId && !SETUP_METHODS.has(method) && !this.sessionLost) {
      this.sessionLost = true;
      record.sessionLost = true;
    }
    this.deps.record(record);
  }
}

function cacheMarker(result: ToolResultLike | undefined): 'hit' | 'miss' | undefined {
  const marker = result?._meta?.['mcp-scale/cache'];
  const value =
    typeof marker === 'string'
      ? marker
      : typeof marker === 'object' && marker !== null
        ? ((marker as { status?: unknown }).status ??
          ((marker as { hit?: unknown }).hit === true
            ? 'hit'
            : (marker as { hit?: unknown }).hit === false
              ? 'miss'
              : undefined))
        : undefined;
  return value === 'hit' || value === 'miss' ? value : undefined;
}
