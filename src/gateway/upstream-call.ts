import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * One request to a worker, driven through undici's `dispatch` handler API
 * rather than `request()`: the gateway relays most answers straight into
 * the client's response, so a Readable per answer (and the promise, abort
 * signal and stream bookkeeping that come with it) was a large share of its
 * CPU per proxied call (docs/performance.md, "Gateway CPU per call"). The
 * body is delivered to one consumer: a sink (the relay), or on demand as a
 * whole buffer, a discard, or a Readable for the rare paths that parse it.
 */

/** Where a relayed body goes: `write` returns false when the destination is slow (the worker is paused). */
export interface BodySink {
  write(chunk: Buffer): boolean;
  end(): void;
  error(error: Error): void;
}

export interface UpstreamResponse {
  statusCode: number;
  /** Lower-case names; repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

/** Chunks held before a consumer attaches, beyond which the worker's socket is paused. */
const BUFFER_BEFORE_CONSUMER = 64 * 1024;

export class UpstreamBody {
  private sink: BodySink | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private finished = false;
  private paused = false;
  private doneHooks: (() => void)[] = [];

  constructor(private readonly call: UpstreamCall) {}

  /** Whether the body is over: ended, failed or destroyed. */
  get destroyed(): boolean {
    return this.finished;
  }

  /** Runs `hook` once, when the body is over (at once if it already is). */
  onDone(hook: () => void): void {
    if (this.finished) hook();
    else this.doneHooks.push(hook);
  }

  /**
   * The whole body when it has already arrived (a worker's answer usually
   * comes in one read): the relay then sends it in one write with a
   * Content-Length. Undefined when more is to come or it was read already.
   */
  takeIfComplete(): Buffer | undefined {
    if (!this.ended || this.failure || this.sink) return undefined;
    const whole = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
    this.sink = { write: () => true, end: () => {}, error: () => {} };
    this.held = [];
    this.heldBytes = 0;
    return whole;
  }

  /** Sends every chunk to `sink` as it arrives; chunks that came before are written first. */
  pipe(sink: BodySink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    let open = true;
    for (const chunk of held) open = sink.write(chunk) && open;
    if (this.failure) sink.error(this.failure);
    else if (this.ended) sink.end();
    else if (!open) this.pause();
    else this.resume();
  }

  pause(): void {
    if (this.paused || this.finished) return;
    this.paused = true;
    this.call.controller?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.call.controller?.resume();
  }

  /** Stops reading: the request is aborted if the worker is still sending. */
  destroy(): void {
    if (this.finished) return;
    this.call.abort(new Error('upstream body destroyed'));
    this.finish();
  }

  /** The whole body. */
  readAll(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.pipe({
        write: (chunk) => chunks.push(chunk) > 0,
        end: () => resolve(Buffer.concat(chunks)),
        error: reject,
      });
    });
  }

  /** Reads and discards the rest, so the connection can be reused. */
  dump(): Promise<void> {
    return new Promise((resolve) => {
      this.pipe({ write: () => true, end: resolve, error: () => resolve() });
    });
  }

  /** A Readable over the body, for code that parses it as a stream. */
  toReadable(): Readable {
    const readable = new Readable({
      read: () => this.resume(),
      destroy: (error, callback) => {
        this.destroy();
        callback(error);
      },
    });
    this.pipe({
      write: (chunk) => readable.push(chunk),
      end: () => readable.push(null),
      error: (error) => readable.destroy(error),
    });
    return readable;
  }

  // Called by UpstreamCall.
  deliver(chunk: Buffer): void {
    if (this.sink) {
      if (!this.sink.write(chunk)) this.pause();
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > BUFFER_BEFORE_CONSUMER) this.pause();
  }

  end(): void {
    this.ended = true;
    this.sink?.end();
    this.finish();
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.sink?.error(error);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const hooks = this.doneHooks;
    this.doneHooks = [];
    for (const hook of hooks) hook();
  }
}

/** The undici handler of one upstream request; `response` settles when the headers arrive. */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  readonly response: Promise<UpstreamResponse>;
  private resolve!: (response: UpstreamResponse) => void;
  private reject!: (error: Error) => void;
  private body: UpstreamBody | undefined;
  private abortReason: Error | undefined;
  private settled = false;

  constructor() {
    this.response = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Whether abort() was called (the error that follows is the caller's doing, not the worker's). */
  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.body = new UpstreamBody(this);
    this.settled = true;
    this.resolve({ statusCode, headers, body: this.body });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.deliver(chunk);
  }

  onResponseEnd(): void {
    this.body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (!this.settled) {
      this.settled = true;
      this.reject(error);
    } else {
      this.body?.fail(error);
    }
  }
}
