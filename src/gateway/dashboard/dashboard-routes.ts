import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../../http/body.js';
import { writeJson } from '../../http/json-response.js';
import type { GatewayStatus } from '../gateway.js';
import type { WorkerPool } from '../worker-pool.js';
import { adminCookieHeader, tokenMatches } from '../../http/admin-cookie.js';
import { dashboardPage, loginPage } from './page.js';
import type { TrafficHistory } from './traffic-history.js';
import type { WorkerStats } from './worker-stats.js';

export interface DashboardDeps {
  status(): GatewayStatus;
  history: TrafficHistory;
  workerStats: WorkerStats;
  pool: WorkerPool;
  adminToken?: string;
  /** Whether the browser reached us over HTTPS (the cookie is then Secure). */
  secure(req: IncomingMessage): boolean;
}

/**
 * `/_mcp-scale/` (the page), `/_mcp-scale/dashboard.json` (its data) and,
 * with an admin token, `/_mcp-scale/login` (token → cookie). `allowed` is the
 * gateway's one admin check, the same that guards /_mcp-scale/status.
 * Returns false for paths that are not the dashboard's, and for refusals the
 * caller answers as it answers every admin path.
 */
export function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  allowed: boolean,
  deps: DashboardDeps,
): boolean {
  if (path === '/_mcp-scale') {
    res.writeHead(308, { location: '/_mcp-scale/' });
    res.end();
    return true;
  }
  if (path === '/_mcp-scale/login' && deps.adminToken !== undefined) {
    void login(req, res, deps.adminToken, deps.secure(req));
    return true;
  }
  if (path === '/_mcp-scale/') {
    if (allowed) {
      sendHtml(res, 200, dashboardPage());
      return true;
    }
    if (deps.adminToken !== undefined) {
      sendHtml(res, 401, loginPage(false));
      return true;
    }
    return false;
  }
  if (path === '/_mcp-scale/dashboard.json' && allowed) {
    void dashboardData(deps).then((data) => writeJson(res, 200, data));
    return true;
  }
  return false;
}

async function dashboardData(deps: DashboardDeps) {
  const figures = await deps.workerStats.read(deps.pool.list());
  const cache: Record<string, { hit: number; miss: number; bypass: number }> = {};
  for (const worker of figures.values()) {
    for (const [tool, counts] of Object.entries(worker.cache)) {
      const total = (cache[tool] ??= { hit: 0, miss: 0, bypass: 0 });
      total.hit += counts.hit;
      total.miss += counts.miss;
      total.bypass += counts.bypass;
    }
  }
  return {
    generatedAt: Date.now(),
    intervalMs: deps.history.intervalMs,
    status: deps.status(),
    history: deps.history.history(),
    workers: Object.fromEntries(
      [...figures].map(([id, f]) => [id, { requestsPerSec: f.requestsPerSec, evictions: f.evictions }]),
    ),
    cache,
  };
}

async function login(req: IncomingMessage, res: ServerResponse, adminToken: string, secure: boolean) {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' });
    res.end();
    return;
  }
  let token = '';
  try {
    const body = (await readBody(req, 16 * 1024)).toString('utf8');
    token = String(
      String(req.headers['content-type']).includes('json')
        ? ((JSON.parse(body) as { token?: unknown }).token ?? '')
        : (new URLSearchParams(body).get('token') ?? ''),
    );
  } catch {
    token = '';
  }
  if (!tokenMatches(token, adminToken)) return sendHtml(res, 401, loginPage(true));
  res.writeHead(303, { location: '/_mcp-scale/', 'set-cookie': adminCookieHeader(adminToken, secure) });
  res.end();
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // Everything is inline by design (no CDN): allow exactly that, nothing from elsewhere.
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}
