import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../../src/bench/engine.js';
import { renderHtmlReport } from '../../src/bench/html-report.js';
import { benchOptions } from '../helpers/bench-options.js';
import { startBenchProxy, type BenchProxy } from '../helpers/bench-proxy.js';
import { startBenchServer, type BenchServer } from '../helpers/bench-servers.js';

/**
 * The --html report opened in Debian's headless chromium, offline: the
 * charts exist, hold the run's data and actually paint pixels.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let servers: BenchServer[] = [];
let proxy: BenchProxy;
let dir: string;
let context: BrowserContext;

beforeAll(async () => {
  servers = [
    await startBenchServer({ sdk: 'v2', instanceId: 'w1' }),
    await startBenchServer({ sdk: 'v2', instanceId: 'w2' }),
  ];
  proxy = await startBenchProxy(
    servers.map((s) => s.url),
    'round-robin',
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-scale-bench-html-'));
  // A fresh profile per run (playwright takes it as userDataDir, not as an argument).
  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    offline: true,
    viewport: { width: 900, height: 1400 },
  });
});

afterAll(async () => {
  await context?.close();
  await proxy?.close();
  for (const server of servers) await server.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bench HTML report', () => {
  it('renders offline in headless chromium with its charts drawn', async () => {
    const report = await runBench(benchOptions(proxy.url, { era: '2026', clients: 3, duration: 2200 }), {
      url: proxy.url,
    });
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderHtmlReport(report));
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${file}`);

    // Every chart is there with data from this run.
    expect(await page.locator('#chart-latency path.series').count()).toBe(3);
    expect(await page.locator('#chart-throughput rect.bar').count()).toBe(report.timeline.length);
    expect(await page.locator('#chart-instances rect.bar').count()).toBe(2);
    expect(await page.locator('#chart-instances').textContent()).toContain(String(report.instances.w1));
    expect(await page.locator('#latency-table tr').count()).toBeGreaterThan(3);
    // Nothing but the file itself was fetched.
    expect(requests).toEqual([`file://${file}`]);

    // The screenshot is not blank, and each chart paints more than its background.
    const screenshot = await page.screenshot({ fullPage: true });
    const colours = await page.evaluate(async (png) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const ctx = canvas.getContext('2d');
      if (!ctx) return 0;
      ctx.drawImage(image, 0, 0);
      const data = ctx.getImageData(0, 0, image.width, image.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 7)
        seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      return seen.size;
    }, screenshot.toString('base64'));
    expect(colours).toBeGreaterThan(20);
    for (const id of ['chart-latency', 'chart-throughput', 'chart-instances']) {
      const shot = await page.locator(`#${id}`).screenshot();
      const inked = await page.evaluate(async (png) => {
        const image = new Image();
        image.src = `data:image/png;base64,${png}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const ctx = canvas.getContext('2d');
        if (!ctx) return 0;
        ctx.drawImage(image, 0, 0);
        const data = ctx.getImageData(0, 0, image.width, image.height).data;
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
          if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured += 1; // a series colour, not grey or white
        }
        return coloured;
      }, shot.toString('base64'));
      expect(inked, id).toBeGreaterThan(200);
    }
  });
});
