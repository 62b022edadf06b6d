/**
 * Small SVG charts drawn as strings, so the HTML report needs no script,
 * no library and no network: a line chart over time and a horizontal bar
 * chart. Every chart is an <svg> with an id and class="chart".
 */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

const WIDTH = 760;
const HEIGHT = 260;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A "nice" upper bound for an axis (1, 2, 5 × 10^n). */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function fmt(value: number): string {
  return Number(value.toFixed(2)).toString();
}

function frame(id: string, title: string, body: string, xLabel: string, yLabel: string): string {
  return `<svg id="${id}" class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>
${body}
<text x="${WIDTH / 2}" y="${HEIGHT - 4}" text-anchor="middle" font-size="11" fill="#555">${escapeHtml(xLabel)}</text>
<text x="12" y="${HEIGHT / 2}" text-anchor="middle" font-size="11" fill="#555" transform="rotate(-90 12 ${HEIGHT / 2})">${escapeHtml(yLabel)}</text>
</svg>`;
}

function gridY(maxY: number, plotH: number): string {
  const lines: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const value = (maxY * i) / 4;
    const y = PAD.top + plotH - (plotH * i) / 4;
    lines.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" font-size="10" fill="#555">${fmt(value)}</text>`,
    );
  }
  return lines.join('\n');
}

/** Lines over x (seconds), with a legend; `bars` draws the first series as columns instead. */
export function lineChart(options: {
  id: string;
  title: string;
  series: Series[];
  xLabel: string;
  yLabel: string;
  bars?: boolean;
}): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const all = options.series.flatMap((s) => s.points);
  const maxX = Math.max(1, Math.ceil(Math.max(0, ...all.map((p) => p.x))));
  const maxY = niceMax(Math.max(0, ...all.map((p) => p.y)));
  const sx = (x: number) => PAD.left + (plotW * x) / maxX;
  const sy = (y: number) => PAD.top + plotH - (plotH * y) / maxY;
  const parts = [gridY(maxY, plotH)];
  const step = Math.max(1, Math.ceil(maxX / 6));
  for (let x = 0; x <= maxX; x += step) {
    parts.push(
      `<text x="${sx(x)}" y="${HEIGHT - 20}" text-anchor="middle" font-size="10" fill="#555">${fmt(x)}</text>`,
    );
  }
  options.series.forEach((series, index) => {
    if (options.bars && index === 0) {
      const barW = Math.max(1, plotW / maxX - 2);
      for (const p of series.points) {
        parts.push(
          `<rect class="bar" x="${fmt(sx(p.x) - barW / 2)}" y="${fmt(sy(p.y))}" width="${fmt(barW)}" height="${fmt(PAD.top + plotH - sy(p.y))}" fill="${series.color}"/>`,
        );
      }
    } else if (series.points.length > 0) {
      const d = series.points
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(sx(p.x))},${fmt(sy(p.y))}`)
        .join(' ');
      parts.push(
        `<path class="series" data-series="${escapeHtml(series.name)}" d="${d}" fill="none" stroke="${series.color}" stroke-width="2"/>`,
      );
    }
    const lx = PAD.left + 10 + index * 110;
    parts.push(
      `<rect x="${lx}" y="${PAD.top + 2}" width="10" height="10" fill="${series.color}"/>`,
      `<text x="${lx + 14}" y="${PAD.top + 11}" font-size="11" fill="#222">${escapeHtml(series.name)}</text>`,
    );
  });
  return frame(options.id, options.title, parts.join('\n'), options.xLabel, options.yLabel);
}

/** One horizontal bar per entry, labelled with its value and share. */
export function barChart(options: {
  id: string;
  title: string;
  entries: [string, number][];
  xLabel: string;
}): string {
  const entries = options.entries.length > 0 ? options.entries : [['(no data)', 0] as [string, number]];
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const height = PAD.top + PAD.bottom + entries.length * 28;
  const plotW = WIDTH - 160 - PAD.right - 90;
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rows = entries.map(([label, n], i) => {
    const y = PAD.top + i * 28;
    const w = (plotW * n) / max;
    const share = total > 0 ? ` (${((n / total) * 100).toFixed(1)}%)` : '';
    return [
      `<text x="150" y="${y + 15}" text-anchor="end" font-size="11" fill="#222">${escapeHtml(label)}</text>`,
      `<rect class="bar" x="160" y="${y}" width="${fmt(Math.max(1, w))}" height="20" fill="#4c78a8"/>`,
      `<text x="${fmt(166 + w)}" y="${y + 15}" font-size="11" fill="#222">${n}${share}</text>`,
    ].join('\n');
  });
  return `<svg id="${options.id}" class="chart" role="img" aria-label="${escapeHtml(options.title)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>
${rows.join('\n')}
<text x="${WIDTH / 2}" y="${height - 4}" text-anchor="middle" font-size="11" fill="#555">${escapeHtml(options.xLabel)}</text>
</svg>`;
}
