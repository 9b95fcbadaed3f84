/**
 * Renders the time-vs-cost frontier (mean click-to-door against pay per order, one point per knob
 * setting) as a self-contained SVG, the default policy's point marked. With `hybrid`, a second curve:
 * the same knob settings with a simulated carrier taking late-risk and unserved orders (carrier.ts),
 * plotted as cost per delivered order (own pay + carrier price) against click-to-door over all orders.
 */
export interface FrontierPoint {
  readonly timeWeight: number;
  readonly ctdMean: number;
  readonly payPerOrder: number;
  readonly isDefault: boolean;
}

const W = 720;
const H = 480;
const M = { left: 70, right: 30, top: 60, bottom: 60 };

export interface FrontierCurve {
  readonly points: readonly FrontierPoint[];
  readonly label: string;
}

export function frontierSvg(points: readonly FrontierPoint[], title: string, subtitle = '', hybrid?: FrontierCurve, ownLabel = 'own couriers only'): string {
  const all = [...points, ...(hybrid?.points ?? [])];
  const xs = all.map((p) => p.payPerOrder);
  const ys = all.map((p) => p.ctdMean);
  const [x0, x1] = padded(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = padded(Math.min(...ys), Math.max(...ys));
  const sx = (v: number) => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" text-anchor="middle">${hybrid ? 'cost per delivered order ($): courier pay, + carrier price in hybrid' : 'pay per delivered order ($)'}</text>`,
    `<text x="18" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(M.top + H - M.bottom) / 2})">mean click-to-door (min)</text>`,
  ];
  for (const v of ticks(x0, x1)) {
    parts.push(`<line x1="${sx(v)}" y1="${H - M.bottom}" x2="${sx(v)}" y2="${H - M.bottom + 5}" stroke="black"/>`);
    parts.push(`<text x="${sx(v)}" y="${H - M.bottom + 18}" text-anchor="middle">${v.toFixed(2)}</text>`);
  }
  for (const v of ticks(y0, y1)) {
    parts.push(`<line x1="${M.left - 5}" y1="${sy(v)}" x2="${M.left}" y2="${sy(v)}" stroke="black"/>`);
    parts.push(`<text x="${M.left - 8}" y="${sy(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  const path = [...points].sort((a, b) => a.timeWeight - b.timeWeight).map((p) => `${sx(p.payPerOrder).toFixed(1)},${sy(p.ctdMean).toFixed(1)}`);
  parts.push(`<polyline points="${path.join(' ')}" fill="none" stroke="#4a7ab7" stroke-width="1.5"/>`);
  for (const p of points) {
    const x = sx(p.payPerOrder);
    const y = sy(p.ctdMean);
    parts.push(`<circle cx="${x}" cy="${y}" r="${p.isDefault ? 7 : 4}" fill="${p.isDefault ? '#d62728' : '#4a7ab7'}"/>`);
    parts.push(`<text x="${x + 9}" y="${y - 7}">${p.isDefault ? `default (timeWeight ${p.timeWeight})` : `tw ${p.timeWeight}`}</text>`);
  }
  if (hybrid) {
    const hp = [...hybrid.points].sort((a, b) => a.timeWeight - b.timeWeight).map((p) => `${sx(p.payPerOrder).toFixed(1)},${sy(p.ctdMean).toFixed(1)}`);
    parts.push(`<polyline points="${hp.join(' ')}" fill="none" stroke="#e07b00" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    for (const p of hybrid.points) {
      const x = sx(p.payPerOrder);
      const y = sy(p.ctdMean);
      const r = p.isDefault ? 7 : 4;
      parts.push(`<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${p.isDefault ? '#8c2d04' : '#e07b00'}"/>`);
      parts.push(`<text x="${x + 9}" y="${y + 14}" fill="#8c2d04">${p.isDefault ? `hybrid default (tw ${p.timeWeight})` : `tw ${p.timeWeight}`}</text>`);
    }
    const lx = W - M.right - 250;
    parts.push(`<circle cx="${lx}" cy="${M.top + 6}" r="4" fill="#4a7ab7"/><text x="${lx + 10}" y="${M.top + 10}">${esc(ownLabel)}</text>`);
    parts.push(`<rect x="${lx - 4}" y="${M.top + 20}" width="8" height="8" fill="#e07b00"/><text x="${lx + 10}" y="${M.top + 28}">${esc(hybrid.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function padded(lo: number, hi: number): [number, number] {
  const span = hi - lo || Math.abs(hi) * 0.1 || 1;
  return [lo - span * 0.1, hi + span * 0.15];
}

function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const step = [1, 2, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}
