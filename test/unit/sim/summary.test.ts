import t from 'tap';
import type { MdrpMetrics } from '../../../src/sim/mdrp/metrics.js';
import { quantile } from '../../../src/sim/mdrp/metrics.js';
import { SettingsError, splitSettings } from '../../../src/sim/mdrp/run.js';
import { familyMeans, summarize, summaryCsv, summaryMarkdown } from '../../../src/sim/mdrp/summary.js';
import { frontierSvg } from '../../../src/sim/mdrp/frontier-svg.js';

const row = (instance: string, over: Partial<MdrpMetrics>): MdrpMetrics => ({
  instance,
  ready_known: true,
  orders: 100,
  delivered: 100,
  undelivered_pct: 0,
  ctd_mean: 31,
  ctd_p90: 40,
  ctd_max: 60,
  ctd_overage_mean: 2,
  r2p_mean: 2,
  r2d_mean: 12,
  utilization_mean: 0.6,
  orders_per_bundle: 1.1,
  total_pay: 1100,
  pay_per_order: 11,
  share_guaranteed_pay: 0.5,
  ctd_lower_bound_mean: 30,
  ctd_gap: 1,
  courier_hours: 50,
  pay_lower_bound_per_order: 10.5,
  pay_gap: 0.5,
  rounds: 500,
  solve_ms_p50: 1,
  solve_ms_p99: 10,
  solve_ms_max: 20,
  solve_cpu_ms_p50: 1,
  solve_cpu_ms_p99: 9,
  solve_cpu_ms_max: 19,
  rejected_assignments: 0,
  eta_mismatches: 0,
  undelivered_reasons: {},
  detour_mean: 0.2,
  assigned_after_ready_pct: 5,
  ready_to_assign_mean: 3,
  late_pickup_pct: 4,
  late_pickup_idle_nearby_pct: 10,
  courier_wait_mean: 1,
  ...over,
});

t.test('means over instances, gaps and targets', async (t) => {
  const s = summarize([row('b', { ctd_mean: 33, ctd_gap: 3, solve_ms_p99: 60 }), row('a', {})]);
  t.same(s.rows.map((r) => r.instance), ['a', 'b'], 'sorted by name');
  t.equal(s.means.ctd_mean, 32);
  t.equal(s.means.ctd_gap, 2);
  t.equal(s.solveMsP99Max, 60);
  t.equal(s.worstSolveInstance, 'b');
  const met = Object.fromEntries(s.targets.map((x) => [x.name.split(' ')[0], x.met]));
  t.same(met, { 'ctd_mean': false, 'ctd_overage_mean': true, 'undelivered': true, 'pay_per_order': true, 'max': false });
  const csv = summaryCsv(s).trim().split('\n');
  t.equal(csv.length, 4, 'header, two rows, mean');
  t.match(csv[3], /^MEAN,,100,100,0,32,/);
  const md = summaryMarkdown(s, 'test');
  t.match(md, /\| ctd_mean − ctd_lower_bound_mean \(min\) \| 2 \| 1\.2 \| NO \|/);
  t.match(md, /Worst solve_ms_p99 \(wall\): 60 ms on b; worst solve_cpu_ms_p99 \(CPU time of the simulating process\): 9 ms/);
});

t.test('instance families group by the parts of the Grubhub name', async (t) => {
  const fams = familyMeans([row('0o50t75s1p100', {}), row('1o50t100s1p125', {}), row('custom', {})]);
  t.same(fams.map((f) => [f.family, f.rows.length]), [['o50', 2], ['p100', 1], ['p125', 1], ['s1', 2], ['seed 0', 1], ['seed 1', 1], ['t100', 1], ['t75', 1]]);
  t.match(summaryMarkdown(summarize([row('0o50t75s1p100', {})]), 't'), /\| o50 \| 1 \| 1 \|/);
});

t.test('a failed instance fails every target and is listed', async (t) => {
  const s = summarize([row('a', {})], [{ instance: 'x', code: 'MDRP_INVALID_PLAN', message: 'bad' }]);
  t.ok(s.targets.every((x) => !x.met));
  t.match(summaryMarkdown(s, 't'), /- x: \[MDRP_INVALID_PLAN\] bad/);
});

t.test('quantiles interpolate like pandas', async (t) => {
  t.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  t.equal(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9), 91);
  t.equal(quantile([], 0.9), 0);
});

t.test('--set splits simulator settings from policy keys', async (t) => {
  t.same(splitSettings({ readyKnown: 'false', roundEveryMin: '2', timeWeight: '0.5' }), {
    sim: { readyKnown: false, roundEveryMin: 2 },
    policy: { timeWeight: '0.5' },
  });
  t.throws(() => splitSettings({ readyKnown: 'no' }), SettingsError);
  t.throws(() => splitSettings({ roundEveryMin: 'x' }), { code: 'MDRP_BAD_SETTING' });
  t.throws(() => splitSettings({ roundEveryMin: '1.5' }), { code: 'MDRP_BAD_SETTING', message: /whole number/ });
  t.throws(() => splitSettings({ prepEstimateQuantile: '2' }), { code: 'MDRP_BAD_SETTING' });
  t.same(splitSettings({ prepEstimateQuantile: '-1' }).sim, { prepEstimateQuantile: -1 }, 'negative quantile = the mean');
});

t.test('the frontier SVG plots every point and marks the default', async (t) => {
  const svg = frontierSvg(
    [
      { timeWeight: 0, ctdMean: 35, payPerOrder: 10.5, isDefault: false },
      { timeWeight: 0.8, ctdMean: 32, payPerOrder: 11, isDefault: true },
      { timeWeight: 1, ctdMean: 31.5, payPerOrder: 11.6, isDefault: false },
    ],
    'frontier',
  );
  t.match(svg, /^<svg /);
  t.equal(svg.match(/<circle /g)?.length, 3);
  t.match(svg, /default \(timeWeight 0\.8\)/);
  t.notMatch(svg, /NaN/);
});
