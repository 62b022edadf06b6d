import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from '../../src/gen/process-tree.js';
import { startLoadBalancer, type RunningLoadBalancer } from '../../src/gen/run-lb.js';
import { isProcessAlive } from '../../src/util/process.js';
import {
  get,
  post,
  readEvents,
  startTestUpstream,
  type TestUpstream,
  type UpstreamReply,
} from '../helpers/lb-upstream.js';

/**
 * The generated nginx and HAProxy configs, run for real by startLoadBalancer
 * in front of two node:http upstreams (w1, w2).
 */
const EVENT_DELAY_MS = 400;
const EVENT_COUNT = 5;
/**
 * Lags are 0-5 ms here; HAProxy without `option http-no-delay` holds each
 * event ~200 ms. One late event is tolerated (a stalled test process), two
 * or more mean the proxy delays events.
 */
const LATE_MS = 150;

let upstreams: TestUpstream[] = [];

beforeAll(async () => {
  upstreams = await Promise.all(['w1', 'w2'].map((id) => startTestUpstream(id)));
});

afterAll(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
});

const targets = () => upstreams.map((u) => ({ id: u.id, url: u.url }));

/** The proxy's processes: the nginx master and its workers, or the one haproxy process. */
function processesOf(lb: RunningLoadBalancer): number[] {
  return [lb.pid, ...childPids(lb.pid)];
}

function uidOf(pid: number): number | undefined {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return line ? Number(line.split(/\s+/)[1]) : undefined;
}

for (const kind of ['nginx', 'haproxy'] as const) {
  describe(`${kind} with affinity gateway`, () => {
    let lb: RunningLoadBalancer;
    let pids: number[] = [];

    beforeAll(async () => {
      lb = await startLoadBalancer({ kind, upstreams: targets() });
      pids = processesOf(lb);
    });

    afterAll(async () => {
      await lb?.close();
    });

    it('forwards SSE events as they are written, not batched', async () => {
      const events = await readEvents(`${lb.url}/sse?count=${EVENT_COUNT}&delayMs=${EVENT_DELAY_MS}`);
      expect(events.map((e) => e.i)).toEqual([...Array(EVENT_COUNT).keys()]);
      const last = events[events.length - 1];
      if (!last) throw new Error('no events');
      const lags = events.map((e) => e.receivedAt - e.writtenAt);
      console.log(`${kind}: SSE event lags (ms) ${lags.join(', ')}`);
      expect(lags.filter((lag) => lag >= LATE_MS).length, `lags ${lags.join(', ')}`).toBeLessThanOrEqual(1);
      for (const event of events) {
        // Each event arrives before the next one is even written upstream...
        expect(event.receivedAt - event.writtenAt).toBeLessThan(EVENT_DELAY_MS);
        // ...and, above all, well before the stream ends.
        if (event !== last) expect(event.receivedAt).toBeLessThan(last.writtenAt);
      }
    });

    it('passes a 100 KB request body through (bodies over 16 KB go through temp files)', async () => {
      const body = Buffer.alloc(100 * 1024, 'a');
      const result = await post(`${lb.url}/mcp`, body);
      expect(result.status).toBe(200);
      expect((JSON.parse(result.body) as UpstreamReply).bytes).toBe(body.length);
    });

    it('balances requests without a session over both upstreams', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10 && seen.size < 2; i++) {
        const result = await post(`${lb.url}/mcp`, '{}');
        expect(result.status).toBe(200);
        if (result.instance) seen.add(result.instance);
      }
      expect([...seen].sort()).toEqual(['w1', 'w2']);
    });

    it('answers /healthz itself or through the pool, and does not publish /metrics', async () => {
      expect(await get(`${lb.url}/healthz`)).toBe(200);
      expect(await get(`${lb.url}/metrics`)).toBe(404);
    });

    if (kind === 'nginx' && process.getuid?.() === 0) {
      it('runs its workers as nobody when started as root (and still takes large bodies)', () => {
        const workers = pids.slice(1);
        expect(workers.length).toBeGreaterThan(0);
        for (const pid of workers) expect(uidOf(pid)).toBe(65534);
      });
    }

    it('close() stops every process it started, and is safe twice', async () => {
      expect(pids.every(isProcessAlive)).toBe(true);
      await lb.close();
      await lb.close();
      expect(pids.filter(isProcessAlive)).toEqual([]);
      expect(fs.existsSync(lb.prefix)).toBe(false);
    });
  });

  describe(`${kind} with affinity session`, () => {
    let lb: RunningLoadBalancer;

    beforeAll(async () => {
      lb = await startLoadBalancer({ kind, affinity: 'session', upstreams: targets() });
    });

    afterAll(async () => {
      await lb?.close();
    });

    it('keeps every follow-up of 10 new sessions on the upstream that created it', async () => {
      const creators = new Set<string>();
      for (let s = 0; s < 10; s++) {
        const created = await post(`${lb.url}/mcp`, '{"method":"initialize"}');
        const { id: creator, sessionId } = JSON.parse(created.body) as UpstreamReply;
        creators.add(creator);
        for (let i = 0; i < 5; i++) {
          const followUp = await post(`${lb.url}/mcp`, '{}', { 'Mcp-Session-Id': sessionId });
          expect(followUp.instance, `session ${sessionId}, follow-up ${i}`).toBe(creator);
        }
      }
      // New sessions themselves are balanced, so both creators occur.
      expect([...creators].sort()).toEqual(['w1', 'w2']);
    });

    if (kind === 'nginx') {
      it('routes a session id to the worker its prefix names, every time', async () => {
        for (const id of ['w2', 'w1']) {
          for (let i = 0; i < 10; i++) {
            const result = await post(`${lb.url}/mcp`, '{}', { 'Mcp-Session-Id': `${id}.never-seen-${i}` });
            expect(result.instance).toBe(id);
          }
        }
      });
    }

    it('streams SSE through the per-worker route too', async () => {
      const events = await readEvents(`${lb.url}/sse?count=3&delayMs=${EVENT_DELAY_MS}`, {
        'Mcp-Session-Id': 'w2.stream',
      });
      expect(events).toHaveLength(3);
      for (const event of events) expect(event.receivedAt - event.writtenAt).toBeLessThan(EVENT_DELAY_MS);
    });
  });
}

describe('startLoadBalancer failures', () => {
  it('reports a proxy that cannot start, and leaves nothing running', async () => {
    await expect(
      startLoadBalancer({
        kind: 'nginx',
        upstreams: targets(),
        binary: '/nonexistent/nginx',
        readyTimeoutMs: 2000,
      }),
    ).rejects.toThrow(/nginx did not start/);
  });

  it('rejects an upstream id that cannot name a worker', async () => {
    await expect(
      startLoadBalancer({ kind: 'haproxy', upstreams: [{ id: 'w 1', url: 'http://127.0.0.1:1' }] }),
    ).rejects.toThrow(/upstream id/);
  });
});
