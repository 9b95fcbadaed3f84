/**
 * Published reference figures for the Grubhub MDRP instances (data README and issue 14) and the two
 * comparisons `mdrp:all` prints: the information modes side by side with Reyes et al. 2018, and the 16
 * seed-0 instances against the exact offline optimum (Yildiz & Savelsbergh; Reyes et al. Table 4).
 */
import type { MdrpMetrics } from './metrics.js';
import { mean } from './metrics.js';
import type { Summary } from './summary.js';

/** Mean click-to-door per instance: exact offline optimum and the Reyes heuristic (ready times known). */
export const EXACT_OPTIMUM: Readonly<Record<string, { exact: number; reyes: number }>> = {
  '0o50t100s1p100': { exact: 29.81, reyes: 31.19 },
  '0o50t100s1p125': { exact: 33.4, reyes: 34.67 },
  '0o50t100s2p100': { exact: 28.96, reyes: 29.79 },
  '0o50t100s2p125': { exact: 32.6, reyes: 34.18 },
  '0o50t75s1p100': { exact: 27.49, reyes: 28.4 },
  '0o50t75s1p125': { exact: 31.1, reyes: 31.62 },
  '0o50t75s2p100': { exact: 26.83, reyes: 27.29 },
  '0o50t75s2p125': { exact: 30.52, reyes: 31.19 },
  '0r50t100s1p100': { exact: 30.76, reyes: 32.46 },
  '0r50t100s1p125': { exact: 34.66, reyes: 36.75 },
  '0r50t100s2p100': { exact: 29.93, reyes: 31.21 },
  '0r50t100s2p125': { exact: 33.86, reyes: 35.6 },
  '0r50t75s1p100': { exact: 28.47, reyes: 29.57 },
  '0r50t75s1p125': { exact: 32.45, reyes: 33.71 },
  '0r50t75s2p100': { exact: 27.95, reyes: 29.03 },
  '0r50t75s2p125': { exact: 32.0, reyes: 33.41 },
};

export const SEED0_INSTANCES = Object.keys(EXACT_OPTIMUM);

/** Reyes et al. 2018, all 240 instances (data README). */
export const PUBLISHED = {
  known: { ctd: 32.74, gap: 2.39, r2p: 1.93, overage: 2.77, undeliveredPct: 0.25 },
  'restaurant-mean': { ctd: 34.03, gap: 3.68, r2p: 2.9, overage: 3.4, undeliveredPct: 0.62 },
} as const;

/** The information modes of the harness, in the order they are reported. */
export const INFO_MODES = ['known', 'global', 'restaurant-mean', 'learned'] as const;
export type InfoMode = (typeof INFO_MODES)[number];

export const MODE_LABEL: Readonly<Record<InfoMode, string>> = {
  known: 'ready times known at placement',
  global: 'hidden until ready; estimate = global conditional median (`--ready-late`)',
  'restaurant-mean': 'hidden until ready; estimate = restaurant mean prep (Reyes setup)',
  learned: 'hidden until ready; estimate learned online from orders already ready',
};

/** Issue 14's targets per mode (gap and r2p in minutes, undelivered in %). */
export const MODE_TARGETS: Readonly<Partial<Record<InfoMode, { gap: number; r2p?: number; undeliveredPct?: number }>>> = {
  known: { gap: 1.68 },
  'restaurant-mean': { gap: 3.0, r2p: 2.5, undeliveredPct: 0.5 },
  learned: { gap: 3.5 },
};

const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '–');
const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '–');

/** The modes side by side with the published figures (Markdown). */
export function modesMarkdown(summaries: ReadonlyMap<InfoMode, Summary>): string {
  const modes = INFO_MODES.filter((m) => summaries.has(m));
  const lines = [
    '| information mode | instances | CtD | gap to bound | target | ready-to-pickup | undelivered % | solve p99 worst wall / CPU (ms) | Reyes et al. 2018 (240): CtD / gap / RtP / undelivered % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const m of modes) {
    const s = summaries.get(m)!;
    const t = MODE_TARGETS[m];
    const cpuP99 = Math.max(...s.rows.map((r) => r.solve_cpu_ms_p99));
    const p = m === 'known' || m === 'restaurant-mean' ? PUBLISHED[m] : undefined;
    const target = t ? [`gap ≤ ${t.gap}`, t.r2p !== undefined ? `RtP ≤ ${t.r2p}` : '', t.undeliveredPct !== undefined ? `undel. ≤ ${t.undeliveredPct}` : ''].filter(Boolean).join(', ') : '';
    const met = t
      ? s.means.ctd_gap <= t.gap && (t.r2p === undefined || s.means.r2p_mean <= t.r2p) && (t.undeliveredPct === undefined || s.means.undelivered_pct <= t.undeliveredPct)
      : undefined;
    lines.push(
      `| ${m}: ${MODE_LABEL[m]} | ${s.rows.length} | ${f2(s.means.ctd_mean)} | ${f3(s.means.ctd_gap)} | ${target}${met === undefined ? '' : met ? ' ✓' : ' ✗'} | ${f3(s.means.r2p_mean)} | ${f3(s.means.undelivered_pct)} | ${f2(s.solveMsP99Max)} / ${f2(cpuP99)} | ${p ? `${p.ctd} / ${p.gap} / ${p.r2p} / ${p.undeliveredPct}` : '–'} |`,
    );
  }
  return lines.join('\n') + '\n';
}

export interface OptimumComparison {
  readonly rows: readonly { instance: string; ours: number; exact: number; reyes: number }[];
  readonly meanOurs: number;
  readonly meanExact: number;
  readonly meanReyes: number;
}

/** Our mean click-to-door on the seed-0 instances present in `rows`, against the exact optimum. */
export function optimumComparison(rows: readonly MdrpMetrics[]): OptimumComparison | null {
  const hits = rows
    .filter((r) => EXACT_OPTIMUM[r.instance] !== undefined)
    .sort((a, b) => a.instance.localeCompare(b.instance))
    .map((r) => ({ instance: r.instance, ours: r.ctd_mean, ...EXACT_OPTIMUM[r.instance]! }));
  if (hits.length === 0) return null;
  return {
    rows: hits,
    meanOurs: mean(hits.map((h) => h.ours)),
    meanExact: mean(hits.map((h) => h.exact)),
    meanReyes: mean(hits.map((h) => h.reyes)),
  };
}

export function optimumMarkdown(c: OptimumComparison): string {
  const lines = ['| instance | dispatchd | exact optimum | dispatchd − optimum | Reyes heuristic | Reyes − optimum |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of c.rows) lines.push(`| ${r.instance} | ${f2(r.ours)} | ${f2(r.exact)} | ${f2(r.ours - r.exact)} | ${f2(r.reyes)} | ${f2(r.reyes - r.exact)} |`);
  lines.push(`| mean (${c.rows.length}) | ${f2(c.meanOurs)} | ${f2(c.meanExact)} | **${f3(c.meanOurs - c.meanExact)}** | ${f2(c.meanReyes)} | ${f3(c.meanReyes - c.meanExact)} |`);
  return lines.join('\n') + '\n';
}
