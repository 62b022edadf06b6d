import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stopChild, Teardown, TeardownStarted } from '../../scripts/perf/teardown.js';

/** A promise and the function that resolves it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Teardown (perf scripts stop what they started)', () => {
  it('stops newest first', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => order.push('redis'));
    teardown.add(async () => {
      await Promise.resolve();
      order.push('worker');
    });
    teardown.add(() => order.push('gateway'));
    await teardown.run();
    expect(order).toEqual(['gateway', 'worker', 'redis']);
  });

  it('a stop that throws or rejects does not keep the others from running', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => order.push('first'));
    teardown.add(() => Promise.reject(new Error('already gone')));
    teardown.add(() => {
      throw new Error('boom');
    });
    teardown.add(() => order.push('last'));
    await expect(teardown.run()).resolves.toBeUndefined();
    expect(order).toEqual(['last', 'first']);
  });

  it('runs each stop once however often run() is called, concurrently or later', async () => {
    const teardown = new Teardown();
    let stops = 0;
    teardown.add(() => stops++);
    const [a, b] = [teardown.run(), teardown.run()];
    expect(a).toBe(b);
    await Promise.all([a, b, teardown.run()]);
    await teardown.run();
    expect(stops).toBe(1);
    // The normal end (or a failure) is not an interrupt.
    expect(teardown.interrupted).toBe(false);
  });

  it('stops at once what is added after it ran', async () => {
    const teardown = new Teardown();
    await teardown.run();
    const stopped = deferred<void>();
    teardown.add(() => stopped.resolve());
    await stopped.promise;
  });

  it('start() registers the stop when the thing is up, and refuses once stopping', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    const redis = await teardown.start(
      async () => 'redis',
      (name) => order.push(name),
    );
    expect(redis).toBe('redis');
    await teardown.start(
      async () => 'worker',
      (name) => order.push(name),
    );
    await teardown.run();
    expect(order).toEqual(['worker', 'redis']);
    let begun = false;
    await expect(
      teardown.start(
        async () => (begun = true),
        () => {},
      ),
    ).rejects.toBeInstanceOf(TeardownStarted);
    expect(begun).toBe(false);
  });

  it('a start in flight when run() begins is waited for and stopped first, and its caller is told', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => order.push('redis'));
    const up = deferred<string>();
    const starting = teardown.start(
      () => up.promise,
      (name) => order.push(name),
    );
    const ran = teardown.run();
    up.resolve('gateway');
    await expect(starting).rejects.toBeInstanceOf(TeardownStarted);
    await ran;
    expect(order).toEqual(['gateway', 'redis']);
  });

  it('a start that fails registers nothing and the rest still stops', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => order.push('redis'));
    await expect(
      teardown.start(
        () => Promise.reject(new Error('port taken')),
        () => order.push('never'),
      ),
    ).rejects.toThrow('port taken');
    await teardown.run();
    expect(order).toEqual(['redis']);
  });

  it('a scope runs early on its own, and with its parent if still up', async () => {
    const parent = new Teardown();
    const order: string[] = [];
    parent.add(() => order.push('redis'));
    const round1 = parent.scope();
    round1.add(() => order.push('round 1'));
    await round1.run();
    const round2 = parent.scope();
    round2.add(() => order.push('round 2'));
    await parent.run();
    expect(order).toEqual(['round 1', 'round 2', 'redis']);
  });

  it('onSignals: a SIGINT runs the stops, then exits 130', async () => {
    const teardown = new Teardown();
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    const order: string[] = [];
    teardown.add(() => order.push('redis'));
    const exited = deferred<number>();
    const off = teardown.onSignals((code) => exited.resolve(code));
    try {
      expect(process.listenerCount('SIGINT')).toBe(before.SIGINT + 1);
      // The handler alone (no real signal to the test worker); the integration test sends a real one.
      const round = teardown.scope();
      expect(teardown.interrupted).toBe(false);
      process.emit('SIGINT');
      // Errors of the script from now on are consequences, in its scopes too.
      expect(teardown.interrupted).toBe(true);
      expect(round.interrupted).toBe(true);
      expect(await exited.promise).toBe(130);
      expect(order).toEqual(['redis']);
      // Once: a second Ctrl-C gets Node's default.
      expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
    } finally {
      off();
    }
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
  });

  it('onSignals: SIGTERM exits 143', async () => {
    const teardown = new Teardown();
    const exited = deferred<number>();
    const off = teardown.onSignals((code) => exited.resolve(code));
    try {
      process.emit('SIGTERM');
      expect(await exited.promise).toBe(143);
    } finally {
      off();
    }
  });

  it('stopChild ends a child and resolves on its exit, at once if it had already exited', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    await stopChild(child);
    expect(child.signalCode).toBe('SIGTERM');
    await stopChild(child);
  });
});
