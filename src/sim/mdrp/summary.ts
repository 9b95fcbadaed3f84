/**
 * Summary over many instances: one row per instance, the mean over instances of every numeric metric,
 * the gaps to the lower bounds, the worst p99 round time, and the targets checked (CSV + Markdown).
 */
import type { MdrpMetrics } from './metrics.js';
import { mean } from './metrics.js';

/** The targets (ready times known), averaged over instances; solve p99 on every instance. */
export const TARGETS = {
  ctd_gap: 1.2,
  ctd_overage_mean: 2.3,
  undelivered_pct: 0.2,
  pay_gap: 0.9,
  solve_ms_p99_max: 50,
} as const;

type NumericKey = { [K in keyof MdrpMetrics]-?: MdrpMetrics[K] extends number ? K : never }[keyof MdrpMetrics];

export const SUMMARY_COLUMNS: readonly NumericKey[] = [
  'orders',
  'delivered',
  'undelivered_pct',
  'ctd_mean',
  'ctd_lower_bound_mean',
  'ctd_gap',
  'ctd_p90',
  'ctd_max',
  'ctd_overage_mean',
  'r2p_mean',
  'r2d_mean',
  'utilization_mean',
  'orders_per_bundle',
  'total_pay',
  'pay_per_order',
  'pay_lower_bound_per_order',
  'pay_gap',
  'share_guaranteed_pay',
  'courier_hours',
  'rounds',
  'solve_ms_p50',
  'solve_ms_p99',
  'solve_ms_max',
  'solve_cpu_ms_p50',
  'solve_cpu_ms_p99',
  'solve_cpu_ms_max',
  'rejected_assignments',
  'eta_mismatches',
  'detour_mean',
  'assigned_after_ready_pct',
  'ready_to_assign_mean',
  'late_pickup_pct',
  'late_pickup_idle_nearby_pct',
  'courier_wait_mean',
];

export interface Failure {
  readonly instance: string;
  readonly code: string;
  readonly message: string;
}

export interface Summary {
  readonly rows: readonly MdrpMetrics[];
  readonly failures: readonly Failure[];
  readonly means: Readonly<Record<NumericKey, number>>;
  readonly solveMsP99Max: number;
  readonly worstSolveInstance: string;
  readonly targets: readonly { name: string; value: number; target: number; met: boolean }[];
}

export function summarize(rows: readonly MdrpMetrics[], failures: readonly Failure[] = []): Summary {
  const sorted = [...rows].sort((a, b) => a.instance.localeCompare(b.instance));
  const means = {} as Record<NumericKey, number>;
  for (const key of SUMMARY_COLUMNS) means[key] = mean(sorted.map((r) => r[key]));
  let worst = sorted[0];
  for (const r of sorted) if (worst && r.solve_ms_p99 > worst.solve_ms_p99) worst = r;
  const solveMsP99Max = worst?.solve_ms_p99 ?? Number.NaN;
  const targets = [
    { name: 'ctd_mean − ctd_lower_bound_mean (min)', value: means.ctd_gap, target: TARGETS.ctd_gap },
    { name: 'ctd_overage_mean (min)', value: means.ctd_overage_mean, target: TARGETS.ctd_overage_mean },
    { name: 'undelivered (%)', value: means.undelivered_pct, target: TARGETS.undelivered_pct },
    { name: 'pay_per_order − pay_lower_bound_per_order ($)', value: means.pay_gap, target: TARGETS.pay_gap },
    { name: 'max over instances of solve_ms_p99 (ms)', value: solveMsP99Max, target: TARGETS.solve_ms_p99_max },
  ].map((t) => ({ ...t, met: t.value <= t.target && failures.length === 0 }));
  return { rows: sorted, failures, means, solveMsP99Max, worstSolveInstance: worst?.instance ?? '', targets };
}

/** Groups rows by the parts of a Grubhub instance name (`<seed><size>t<speed>s<schedule>p<prep>`). */
export function familyMeans(rows: readonly MdrpMetrics[]): { family: string; rows: MdrpMetrics[] }[] {
  const groups = new Map<string, MdrpMetrics[]>();
  for (const r of rows) {
    const m = /^(\d+)(o100|o50|r50)(t\d+)(s\d+)(p\d+)$/.exec(r.instance);
    if (!m) continue;
    for (const family of [`seed ${m[1]}`, m[2]!, m[3]!, m[4]!, m[5]!]) groups.set(family, [...(groups.get(family) ?? []), r]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([family, rows]) => ({ family, rows }));
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(3));

export function summaryCsv(s: Summary): string {
  const lines = [['instance', 'ready_known', ...SUMMARY_COLUMNS].join(',')];
  for (const r of s.rows) lines.push([r.instance, String(r.ready_known), ...SUMMARY_COLUMNS.map((k) => fmt(r[k]))].join(','));
  lines.push(['MEAN', '', ...SUMMARY_COLUMNS.map((k) => fmt(s.means[k]))].join(','));
  return lines.join('\n') + '\n';
}

export function summaryMarkdown(s: Summary, title: string, notes: readonly string[] = []): string {
  const out: string[] = [`# ${title}`, ''];
  if (notes.length > 0) out.push(...notes, '');
  out.push(`${s.rows.length} instances solved, ${s.failures.length} failed.`, '');
  out.push('| target | value | limit | met |', '|---|---:|---:|---|');
  for (const t of s.targets) out.push(`| ${t.name} | ${fmt(t.value)} | ${t.target} | ${t.met ? 'yes' : 'NO'} |`);
  const cpuP99 = Math.max(...s.rows.map((r) => r.solve_cpu_ms_p99));
  out.push('', `Worst solve_ms_p99 (wall): ${fmt(s.solveMsP99Max)} ms on ${s.worstSolveInstance}; worst solve_cpu_ms_p99 (CPU time of the simulating process): ${fmt(cpuP99)} ms.`, '');
  out.push('## Means over instances', '', '| metric | mean |', '|---|---:|');
  for (const k of SUMMARY_COLUMNS) out.push(`| ${k} | ${fmt(s.means[k])} |`);
  const families = familyMeans(s.rows);
  if (families.length > 0) {
    const keys: NumericKey[] = ['ctd_gap', 'ctd_overage_mean', 'undelivered_pct', 'r2p_mean', 'detour_mean', 'orders_per_bundle', 'pay_gap', 'late_pickup_pct', 'solve_ms_p99', 'solve_cpu_ms_p99'];
    out.push('', '## Means by instance family (seed, size, travel speed, shifts, prep)', '', `| family | n | ${keys.join(' | ')} |`, `|---|---:|${keys.map(() => '---:').join('|')}|`);
    for (const f of families) out.push(`| ${f.family} | ${f.rows.length} | ${keys.map((k) => fmt(mean(f.rows.map((r) => r[k])))).join(' | ')} |`);
  }
  const shown: NumericKey[] = ['orders', 'undelivered_pct', 'ctd_mean', 'ctd_gap', 'ctd_overage_mean', 'r2p_mean', 'orders_per_bundle', 'pay_per_order', 'pay_gap', 'solve_ms_p99'];
  out.push('', '## Per instance', '', `| instance | ${shown.join(' | ')} |`, `|---|${shown.map(() => '---:').join('|')}|`);
  for (const r of s.rows) out.push(`| ${r.instance} | ${shown.map((k) => fmt(r[k])).join(' | ')} |`);
  if (s.failures.length > 0) {
    out.push('', '## Failures', '');
    for (const f of s.failures) out.push(`- ${f.instance}: [${f.code}] ${f.message.replace(/\n/g, ' ')}`);
  }
  return out.join('\n') + '\n';
}
