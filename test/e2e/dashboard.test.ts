import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayStatus } from '../../src/gateway/gateway.js';
import { connectV1, connectV2 } from '../helpers/clients.js';
import { scratchDir, startServe, type TestCluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The live dashboard in Debian's headless Chromium against a real `serve`
 * cluster: the admin-token login (token → HttpOnly cookie), the figures it
 * shows against /_mcp-scale/status, and a SIGKILLed worker going down and
 * coming back restarted. With MCP_SCALE_DOCS_SCREENSHOT=1 the screenshot is
 * written to docs/img/dashboard.png (the one in the docs comes from here).
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TOKEN = 'dashboard-test-admin-token-0123456789';

describe('the live dashboard at /_mcp-scale/', () => {
  let cluster: TestCluster;
  let context: BrowserContext;
  let page: Page;
  let dir: string;
  let origin: string;

  const status = async (): Promise<GatewayStatus> =>
    (await fetch(`${origin}/_mcp-scale/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  const text = (selector: string) => page.locator(selector).first().innerText();
  const workerCell = (id: string, field: string) => text(`tr[data-worker="${id}"] [data-field="${field}"]`);

  beforeAll(async () => {
    cluster = await startServe([
      '--instances',
      '2',
      '--redis',
      'memory',
      '--admin-token',
      TOKEN,
      '--rate-limit',
      '1000/1m',
      '--tool-limit',
      'get_product=3/1m',
    ]);
    origin = new URL(cluster.info.gateway.url).origin;
    dir = scratchDir('mcp-scale-dashboard-');
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 1000 },
    });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is announced in the banner and guarded like /_mcp-scale/status', async () => {
    expect(cluster.stdout()).toContain(`dashboard     ${origin}/_mcp-scale/ (sign in with the admin token)`);
    expect((await fetch(`${origin}/_mcp-scale/dashboard.json`)).status).toBe(401);
    expect((await fetch(`${origin}/_mcp-scale/status`)).status).toBe(401);
    const bearer = await fetch(`${origin}/_mcp-scale/dashboard.json`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    expect((await bearer.json()).status.workers).toHaveLength(2);
  });

  it('exchanges the admin token for an HttpOnly cookie, once', async () => {
    await page.goto(`${origin}/_mcp-scale/`);
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('text=That token is not right').count()).toBe(1);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-ready]');
    const cookies = await context.cookies(origin);
    const cookie = cookies.find((c) => c.name === 'mcp_scale_admin');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(cookie?.value).not.toContain(TOKEN);
    // The page's own requests carry the cookie: the status endpoint answers it too.
    expect(await page.evaluate(async () => (await fetch('/_mcp-scale/status')).status)).toBe(200);
    await page.reload();
    await page.waitForSelector('tr[data-worker="w1"]');
  });

  it('shows the figures /_mcp-scale/status reports, 429s by policy and cache hits by tool', async () => {
    const sessions = await Promise.all([
      connectV1(cluster.url),
      connectV1(cluster.url),
      connectV1(cluster.url),
    ]);
    const [first] = sessions;
    let limited = 0;
    for (let i = 0; i < 5; i++) {
      await first.callTool({ name: 'get_product', arguments: { id: 'p00001' } }).catch(() => limited++);
    }
    expect(limited).toBe(2);
    const modern = await connectV2(cluster.url);
    for (let i = 0; i < 4; i++) await modern.callTool({ name: 'get_inventory', arguments: { id: 'p00002' } });
    // The gateway reads its workers' figures at most every few seconds: wait
    // for a reading taken after the sessions opened, then compare the page.
    await waitUntil(
      async () => (await status()).workers.reduce((sum, w) => sum + (w.sessions ?? 0), 0) === 3,
      'the workers to report the 3 sessions',
    );

    await waitUntil(async () => {
      const truth = await status();
      const shown = {
        legacy: await text('[data-total="requests-legacy"]'),
        modern: await text('[data-total="requests-modern"]'),
        sessions: await text('[data-total="sessions"]'),
        workers: await Promise.all(
          truth.workers.map(async (w) => ({
            sessions: await workerCell(w.id, 'sessions'),
            inflight: await workerCell(w.id, 'inflight'),
            restarts: await workerCell(w.id, 'restarts'),
            state: await workerCell(w.id, 'state'),
          })),
        ),
      };
      return (
        shown.legacy === String(truth.traffic.requests.legacy) &&
        shown.modern === String(truth.traffic.requests.modern) &&
        shown.sessions === String(truth.sessions.known) &&
        truth.workers.every(
          (w, i) =>
            shown.workers[i]!.sessions === String(w.sessions) &&
            shown.workers[i]!.inflight === String(w.inflight) &&
            shown.workers[i]!.restarts === String(w.restarts) &&
            shown.workers[i]!.state === (w.healthy ? 'up' : 'down'),
        )
      );
    }, 'the page to show what /_mcp-scale/status says');
    const truth = await status();
    expect(truth.sessions.known).toBe(3);
    expect(truth.workers.reduce((sum, w) => sum + (w.sessions ?? 0), 0)).toBe(3);
    expect(truth.traffic.requests.modern).toBeGreaterThanOrEqual(4);
    expect(truth.traffic.rateLimited).toEqual({ user: 0, 'tool:get_product': 2 });
    await waitUntil(
      async () => (await text('tr[data-policy="tool:get_product"] [data-field="limited"]')) === '2',
      '429s by policy',
    );
    expect(await text('tr[data-policy="user"] [data-field="limited"]')).toBe('0');
    // Three calls got past the limiter, all on one session (one worker): a miss, then two hits.
    await waitUntil(
      async () =>
        (await page.locator('tr[data-tool="get_product"] [data-field="hit"]').count()) === 1 &&
        (await text('tr[data-tool="get_product"] [data-field="hit"]')) === '2' &&
        (await text('tr[data-tool="get_product"] [data-field="miss"]')) === '1',
      'cache figures of get_product',
    );
    expect(await text('tr[data-tool="get_product"] [data-field="ratio"]')).toBe('66.7%');
    expect(await page.locator('#redis').getAttribute('data-redis')).toBe('memory');
    for (const client of sessions) await client.close();
    await modern.close();
  });

  it('draws the last minutes of traffic (and makes the docs screenshot)', async () => {
    const client = await connectV2(cluster.url);
    const v1 = await connectV1(cluster.url);
    // A few seconds of light traffic in both eras, so the charts have lines.
    for (let round = 0; round < 40; round++) {
      await Promise.all([
        client.callTool({ name: 'search_products', arguments: { query: `q${round % 7}` } }),
        v1.callTool({ name: 'get_inventory', arguments: { id: `p0000${round % 5}` } }),
        v1.callTool({ name: 'get_product', arguments: { id: 'p00009' } }).catch(() => undefined),
      ]);
      await page.waitForTimeout(100);
    }
    await client.close();
    await v1.close();
    await waitUntil(async () => (await page.locator('#rps polyline').count()) === 2, 'the req/s chart lines');
    await waitUntil(
      async () => (await page.locator('#latency polyline').count()) === 4,
      'the latency chart lines',
    );
    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const target = process.env.MCP_SCALE_DOCS_SCREENSHOT
      ? path.resolve(import.meta.dirname, '../../docs/img/dashboard.png')
      : path.join(dir, 'dashboard.png');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, png);
  });

  it('follows a SIGKILLed worker: down, then restarted', async () => {
    const victim = cluster.info.instances.find((w) => w.id === 'w2')!;
    process.kill(victim.pid, 'SIGKILL');
    // Stateless calls right away: the one routed to w2 finds it gone, so the gateway takes it out at once.
    const client = await connectV2(cluster.url);
    for (let i = 0; i < 6; i++) await client.callTool({ name: 'get_inventory', arguments: { id: 'p00003' } });
    await client.close();
    await waitUntil(
      async () => (await page.locator('li[data-event="w2 down"]').count()) > 0,
      'w2 down event',
      20_000,
    );
    await waitUntil(
      async () =>
        (await page.locator('li[data-event="w2 restarted"]').count()) > 0 &&
        (await workerCell('w2', 'state')) === 'up' &&
        (await workerCell('w2', 'restarts')) === '1',
      'w2 restarted and up again',
      30_000,
    );
    const truth = await status();
    const w2 = truth.workers.find((w) => w.id === 'w2')!;
    expect(w2).toMatchObject({ healthy: true, restarts: 1 });
    expect(w2.pid).not.toBe(victim.pid);
    const events = truth.events.filter((e) => e.worker === 'w2').map((e) => e.event);
    expect(events.indexOf('down')).toBeGreaterThanOrEqual(0);
    expect(events.lastIndexOf('restarted')).toBeGreaterThan(events.indexOf('down'));
  });
});
