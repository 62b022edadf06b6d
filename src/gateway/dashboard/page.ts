/**
 * The live dashboard: one self-contained page (no CDN, no build step), which
 * polls `dashboard.json` next to it every second and draws tables and SVG
 * charts. Every figure carries a data-* attribute naming what it shows, so
 * tests (and curious operators) can find it.
 */
const STYLE = `
:root{--bg:#0f1419;--panel:#182029;--line:#2a3542;--text:#e6edf3;--muted:#8b98a5;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--a:#58a6ff;--b:#d2a8ff}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;gap:16px;align-items:center;padding:14px 22px;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0}.sub{color:var(--muted)}.badge{padding:2px 9px;border-radius:10px;font-size:12px;font-weight:600}
.ok{background:rgba(63,185,80,.15);color:var(--ok)}.bad{background:rgba(248,81,73,.15);color:var(--bad)}.warn{background:rgba(210,153,34,.15);color:var(--warn)}
main{padding:18px 22px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
section{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px 16px}section h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 10px}
.cards{grid-column:1/-1;display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;background:none;border:0;padding:0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px}.card .v{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}.card .l{color:var(--muted);font-size:12px}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{text-align:right;padding:5px 8px;border-bottom:1px solid var(--line)}th:first-child,td:first-child{text-align:left}th{color:var(--muted);font-weight:500;font-size:12px}
.wide{grid-column:1/-1}svg{width:100%;height:150px;display:block}.legend{color:var(--muted);font-size:12px;margin-top:4px}.legend i{display:inline-block;width:10px;height:3px;margin:0 4px 3px 10px;vertical-align:middle}
ul{list-style:none;margin:0;padding:0;max-height:220px;overflow:auto}li{padding:3px 0;border-bottom:1px solid var(--line)}
.bar{height:8px;background:var(--line);border-radius:4px;overflow:hidden;min-width:80px}.bar span{display:block;height:100%;background:var(--ok)}.empty{color:var(--muted)}
form{max-width:360px;margin:12vh auto;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:22px}input{width:100%;padding:8px;margin:10px 0;background:var(--bg);color:var(--text);border:1px solid var(--line);border-radius:6px}button{padding:8px 14px;background:var(--a);border:0;border-radius:6px;color:#000;font-weight:600;cursor:pointer}
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const fmt = (n, d = 0) => (n === undefined || n === null ? '—' : Number(n).toFixed(d));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
function line(points, key, color, max) {
  if (points.length < 2) return '';
  const t0 = points[0].t, t1 = points[points.length - 1].t || t0 + 1;
  const xy = points.map((p) => [((p.t - t0) / Math.max(1, t1 - t0)) * 600, 140 - (p[key] / max) * 130]);
  return '<polyline fill="none" stroke="' + color + '" stroke-width="2" points="' + xy.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ') + '"/>';
}
function chart(id, series) {
  let max = 0;
  for (const s of series) for (const p of s.points) max = Math.max(max, p[s.key]);
  max = max > 0 ? max * 1.15 : 1;
  const grid = [0.25, 0.5, 0.75].map((f) => '<line x1="0" x2="600" y1="' + (140 - f * 130) + '" y2="' + (140 - f * 130) + '" stroke="#2a3542"/>').join('');
  $(id).innerHTML = '<svg viewBox="0 0 600 150" preserveAspectRatio="none">' + grid + series.map((s) => line(s.points, s.key, s.color, max)).join('') + '<text x="4" y="14" fill="#8b98a5" font-size="11">' + fmt(max, 1) + '</text></svg>' +
    '<div class="legend">' + series.map((s) => '<i style="background:' + s.color + '"></i>' + esc(s.label)).join('') + '</div>';
}
const last = (points) => points[points.length - 1] || {};
function render(d) {
  const s = d.status, h = d.history;
  $('#redis').className = 'badge ' + (s.redis.mode === 'memory' ? 'ok' : s.redis.status === 'ready' ? 'ok' : 'bad');
  $('#redis').textContent = 'Redis ' + (s.redis.mode === 'memory' ? 'memory mode' : s.redis.status === 'ready' ? 'ok' : 'degraded (' + s.redis.status + ')');
  $('#redis').dataset.redis = s.redis.mode === 'memory' ? 'memory' : s.redis.status === 'ready' ? 'ok' : 'degraded';
  $('#state').className = 'badge ' + (s.degraded ? 'warn' : 'ok');
  $('#state').textContent = s.degraded ? 'degraded' : 'healthy';
  $('#updated').textContent = 'updated ' + new Date(d.generatedAt).toLocaleTimeString();
  const t = s.traffic;
  const limited = Object.values(t.rateLimited).reduce((a, b) => a + b, 0);
  const cards = [
    ['requests-legacy', 'requests (2025 era)', t.requests.legacy],
    ['requests-modern', 'requests (2026 era)', t.requests.modern],
    ['rps', 'gateway req/s', fmt(last(h.legacy).requestsPerSec + last(h.modern).requestsPerSec || 0, 1)],
    ['p99-legacy', 'p99 ms (2025)', fmt(last(h.legacy).p99Ms, 1)],
    ['p99-modern', 'p99 ms (2026)', fmt(last(h.modern).p99Ms, 1)],
    ['rate-limited', '429s total', limited],
    ['rehomes', 're-homes', t.rehomes],
    ['sessions', 'sessions known', s.sessions.known],
    ['workers-up', 'workers up', s.workers.filter((w) => w.healthy).length + ' / ' + s.workers.length],
  ];
  $('#cards').innerHTML = cards.map((c) => '<div class="card"><div class="v" data-total="' + c[0] + '">' + esc(c[2]) + '</div><div class="l">' + c[1] + '</div></div>').join('');
  $('#workers').innerHTML = '<tr><th>worker</th><th>state</th><th>restarts</th><th>sessions</th><th>in-flight</th><th>req/s</th><th>evictions</th></tr>' +
    s.workers.map((w) => { const f = d.workers[w.id] || {}; return '<tr data-worker="' + esc(w.id) + '"><td>' + esc(w.id) + ' <span class="sub">pid ' + esc(w.pid ?? '—') + '</span></td>' +
      '<td data-field="state"><span class="badge ' + (w.healthy ? 'ok">up' : 'bad">down') + '</span></td><td data-field="restarts">' + w.restarts + '</td><td data-field="sessions">' + fmt(w.sessions) +
      '</td><td data-field="inflight">' + w.inflight + '</td><td data-field="rps">' + fmt(f.requestsPerSec, 1) + '</td><td data-field="evictions">' + fmt(f.evictions) + '</td></tr>'; }).join('');
  $('#events').innerHTML = s.events.length === 0 ? '<li class="empty">no worker went down since this gateway started</li>' :
    s.events.slice().reverse().map((e) => '<li data-event="' + esc(e.worker + ' ' + e.event) + '"><span class="sub">' + new Date(e.at).toLocaleTimeString() + '</span> ' + esc(e.worker) + ' <span class="badge ' + (e.event === 'down' ? 'bad' : e.event === 'up' ? 'ok' : 'warn') + '">' + e.event + '</span>' + (e.pid ? ' <span class="sub">pid ' + e.pid + '</span>' : '') + '</li>').join('');
  const policies = Object.entries(t.rateLimited);
  $('#limits').innerHTML = policies.length === 0 ? '<tr><td class="empty">no rate-limit policies configured</td></tr>' :
    '<tr><th>policy</th><th>429s</th></tr>' + policies.map(([p, n]) => '<tr data-policy="' + esc(p) + '"><td>' + esc(p) + '</td><td data-field="limited">' + n + '</td></tr>').join('');
  const tools = Object.entries(d.cache);
  $('#cache').innerHTML = tools.length === 0 ? '<tr><td class="empty">no cached tools called yet</td></tr>' :
    '<tr><th>tool</th><th>hits</th><th>misses</th><th>bypass</th><th>hit ratio</th><th></th></tr>' + tools.map(([tool, c]) => { const all = c.hit + c.miss + c.bypass; const r = all ? c.hit / all : 0;
      return '<tr data-tool="' + esc(tool) + '"><td>' + esc(tool) + '</td><td data-field="hit">' + c.hit + '</td><td data-field="miss">' + c.miss + '</td><td data-field="bypass">' + c.bypass + '</td><td data-field="ratio">' + (all ? (r * 100).toFixed(1) + '%' : '—') + '</td><td><div class="bar"><span style="width:' + (r * 100).toFixed(1) + '%"></span></div></td></tr>'; }).join('');
  chart('#rps', [{ points: h.legacy, key: 'requestsPerSec', color: 'var(--a)', label: '2025 era req/s' }, { points: h.modern, key: 'requestsPerSec', color: 'var(--b)', label: '2026 era req/s' }]);
  chart('#latency', [{ points: h.legacy, key: 'p50Ms', color: '#58a6ff', label: 'p50 2025' }, { points: h.legacy, key: 'p99Ms', color: '#1f6feb', label: 'p99 2025' }, { points: h.modern, key: 'p50Ms', color: '#d2a8ff', label: 'p50 2026' }, { points: h.modern, key: 'p99Ms', color: '#8957e5', label: 'p99 2026' }]);
  chart('#errors', [{ points: h.legacy, key: 'errorsPerSec', color: '#f85149', label: '5xx/s 2025' }, { points: h.modern, key: 'errorsPerSec', color: '#ff7b72', label: '5xx/s 2026' }, { points: h.legacy, key: 'limitedPerSec', color: '#d29922', label: '429/s 2025' }, { points: h.modern, key: 'limitedPerSec', color: '#e3b341', label: '429/s 2026' }]);
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}
async function tick() {
  try {
    const r = await fetch('dashboard.json', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401 || r.status === 403) { location.reload(); return; }
    render(await r.json());
    $('#conn').className = 'badge ok'; $('#conn').textContent = 'live';
  } catch (e) { $('#conn').className = 'badge bad'; $('#conn').textContent = 'gateway unreachable'; }
  setTimeout(tick, 1000);
}
tick();
`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>mcp-scale dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>mcp-scale</h1><span class="sub">gateway dashboard</span><span id="state" class="badge ok">…</span>
<span id="redis" class="badge ok">Redis …</span><span id="conn" class="badge warn">connecting</span><span class="sub" id="updated"></span></header>
<main>
<div class="cards" id="cards"></div>
<section class="wide"><h2>Workers</h2><table id="workers"></table></section>
<section><h2>Gateway requests/s by era</h2><div id="rps"></div></section>
<section><h2>Latency p50 / p99 (ms) by era</h2><div id="latency"></div></section>
<section><h2>Errors (5xx) and 429s per second by era</h2><div id="errors"></div></section>
<section><h2>429s by policy</h2><table id="limits"></table></section>
<section><h2>Worker events</h2><ul id="events"></ul></section>
<section class="wide"><h2>Tool cache hit ratio by tool</h2><table id="cache"></table></section>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}

export function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>mcp-scale dashboard: sign in</title><style>${STYLE}</style></head>
<body><form method="post" action="login"><h1>mcp-scale</h1>
<p class="sub">This gateway requires its admin token (<code>--admin-token</code>). It is exchanged for an HttpOnly cookie.</p>
${failed ? '<p class="badge bad">That token is not right.</p>' : ''}
<input type="password" name="token" autocomplete="current-password" placeholder="admin token" autofocus required>
<button type="submit">Open the dashboard</button></form></body></html>`;
}
