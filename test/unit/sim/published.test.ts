import t from 'tap';
import { selectInstances } from '../../../src/sim/mdrp/data-dir.js';
import type { MdrpMetrics } from '../../../src/sim/mdrp/metrics.js';
import { modesMarkdown, optimumComparison, optimumMarkdown, SEED0_INSTANCES } from '../../../src/sim/mdrp/published.js';
import { summarize } from '../../../src/sim/mdrp/summary.js';

const row = (instance: string, ctd: number, gap = 2, r2p = 1.5): MdrpMetrics =>
  ({ instance, ctd_mean: ctd, ctd_gap: gap, r2p_mean: r2p, undelivered_pct: 0.1, solve_ms_p99: 5, solve_cpu_ms_p99: 4 }) as unknown as MdrpMetrics;

t.test('--only: a comma list of exact names, or one substring', async (t) => {
  const present = ['0o50t100s1p100', '0o50t75s1p100', '1o50t100s1p100'];
  t.same(selectInstances(present, undefined), present);
  t.same(selectInstances(present, '0o50t75s1p100,1o50t100s1p100'), ['0o50t75s1p100', '1o50t100s1p100']);
  t.same(selectInstances(present, 't100'), ['0o50t100s1p100', '1o50t100s1p100']);
  t.same(selectInstances(present, '0o50t100s1p100'), ['0o50t100s1p100']);
  t.throws(() => selectInstances(present, '0o50t100s1p100,nope'), /nope/);
});

t.test('seed-0 comparison with the exact optimum', async (t) => {
  t.equal(SEED0_INSTANCES.length, 16);
  t.equal(optimumComparison([row('3o50t100s1p100', 30)]), null);
  const c = optimumComparison([row('0o50t100s1p100', 30.81), row('0r50t75s2p125', 32.5), row('1o50t75s1p100', 99)])!;
  t.equal(c.rows.length, 2);
  t.ok(Math.abs(c.meanOurs - c.meanExact - (1 + 0.5) / 2) < 1e-9);
  t.match(optimumMarkdown(c), /\| mean \(2\) \|/);
});

t.test('modes side by side with the published figures and the issue targets', async (t) => {
  const md = modesMarkdown(
    new Map([
      ['known', summarize([row('a', 32, 1.6, 1.4)])],
      ['restaurant-mean', summarize([row('a', 34, 3.2, 2.4)])],
    ]),
  );
  t.match(md, /known: ready times known.*1\.600.*gap ≤ 1\.68 ✓.*32\.74 \/ 2\.39/);
  t.match(md, /restaurant-mean:.*3\.200.*✗.*34\.03 \/ 3\.68/);
  t.notMatch(md, /learned/);
});
