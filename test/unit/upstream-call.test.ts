import { describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { UpstreamCall } from '../../src/gateway/upstream-call.js';

/** What undici's controller was asked to do. */
function controller() {
  const calls: string[] = [];
  const c = {
    calls,
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    abort: (reason: Error) => calls.push(`abort:${reason.message}`),
    paused: false,
    aborted: false,
    reason: null,
  };
  return c as typeof c & Dispatcher.DispatchController;
}

/** Drives the handler as undici does: start, headers, then the body. */
async function started(chunks: string[], end: boolean) {
  const call = new UpstreamCall();
  const ctl = controller();
  call.onRequestStart(ctl);
  call.onResponseStart(ctl, 200, { 'content-type': 'text/event-stream' });
  for (const chunk of chunks) call.onResponseData(ctl, Buffer.from(chunk));
  if (end) call.onResponseEnd();
  const response = await call.response;
  return { call, ctl, response };
}

describe('UpstreamCall (the gateway side of undici dispatch)', () => {
  it('hands over a body that arrived whole in one piece, once', async () => {
    const { response } = await started(['event: a\n\n', 'event: b\n\n'], true);
    expect(response.statusCode).toBe(200);
    expect(response.body.takeIfComplete()?.toString()).toBe('event: a\n\nevent: b\n\n');
    expect(response.body.takeIfComplete()).toBeUndefined();
    expect(response.body.destroyed).toBe(true);
  });

  it('streams a body still arriving: held chunks first, then each as it comes, then the end', async () => {
    const { call, ctl, response } = await started(['one'], false);
    expect(response.body.takeIfComplete()).toBeUndefined();
    const seen: string[] = [];
    let slow = false;
    response.body.pipe({
      write: (chunk) => (seen.push(chunk.toString()), !slow),
      end: () => seen.push('END'),
      error: () => seen.push('ERROR'),
    });
    call.onResponseData(ctl, Buffer.from('two'));
    slow = true;
    call.onResponseData(ctl, Buffer.from('three'));
    expect(ctl.calls).toEqual(['pause']);
    response.body.resume();
    expect(ctl.calls).toEqual(['pause', 'resume']);
    let done = 0;
    response.body.onDone(() => done++);
    call.onResponseEnd();
    expect(seen).toEqual(['one', 'two', 'three', 'END']);
    expect(done).toBe(1);
  });

  it('pauses the worker when more than 64 KB waits for a consumer', async () => {
    const { call, ctl, response } = await started([], false);
    for (let i = 0; i < 3; i++) call.onResponseData(ctl, Buffer.alloc(30 * 1024));
    expect(ctl.calls).toEqual(['pause']);
    response.body.pipe({ write: () => true, end: () => {}, error: () => {} });
    expect(ctl.calls).toEqual(['pause', 'resume']);
  });

  it('a failure before the headers rejects; after them it reaches the consumer', async () => {
    const early = new UpstreamCall();
    early.onRequestStart(controller());
    early.onResponseError(null, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    await expect(early.response).rejects.toThrow('refused');

    const { call, ctl, response } = await started(['partial'], false);
    const read = response.body.readAll();
    call.onResponseError(ctl, new Error('socket closed'));
    await expect(read).rejects.toThrow('socket closed');
  });

  it('abort before the request starts is passed on when it does; destroy aborts a body in flight', async () => {
    const call = new UpstreamCall();
    call.abort(new Error('client gone'));
    const ctl = controller();
    call.onRequestStart(ctl);
    expect(ctl.calls).toEqual(['abort:client gone']);
    expect(call.aborted).toBe(true);

    const live = await started(['x'], false);
    let done = 0;
    live.response.body.onDone(() => done++);
    live.response.body.destroy();
    expect(live.ctl.calls).toEqual(['abort:upstream body destroyed']);
    expect(done).toBe(1);
  });

  it('reads as a whole buffer, as a Readable, or dumps', async () => {
    const whole = await started(['a', 'b'], true);
    expect((await whole.response.body.readAll()).toString()).toBe('ab');
    const streamed = await started(['c', 'd'], true);
    const parts: string[] = [];
    for await (const chunk of streamed.response.body.toReadable()) parts.push(String(chunk));
    expect(parts.join('')).toBe('cd');
    const dumped = await started(['e'], false);
    const dump = dumped.response.body.dump();
    dumped.call.onResponseEnd();
    await expect(dump).resolves.toBeUndefined();
  });
});
