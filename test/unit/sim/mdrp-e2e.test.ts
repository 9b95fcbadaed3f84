/**
 * MDRP instances end to end through the optimizer: the written solution passes the checker (runInstance
 * throws otherwise) and the metrics fall in a sane range, in both modes. The synthetic fixture always
 * runs; the real Grubhub instance (half size, 252 orders) runs when the shared data is present (a clean
 * clone has no ../shared; set MDRP_DATA to point elsewhere).
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy, withOverrides } from '../../../src/dispatch/policy.js';
import { readInstance } from '../../../src/sim/mdrp/instance.js';
import { runInstance } from '../../../src/sim/mdrp/run.js';
import { defaultSimOptions, simulate } from '../../../src/sim/mdrp/simulate.js';
import { formatSolution } from '../../../src/sim/mdrp/solution.js';
import { mdrpDataDir, repoRoot, tinyDir } from './support/fixtures.js';

const instanceDir = join(mdrpDataDir, '0o50t75s1p100');
const haveData = existsSync(instanceDir);
const syntheticDir = join(repoRoot, 'test/fixtures/mdrp/synthetic');

const out = mkdtempSync(join(tmpdir(), 'mdrp-e2e-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));

for (const readyKnown of [true, false]) {
  t.test(`synthetic instance with ready times ${readyKnown ? 'known' : 'revealed late'}`, async (t) => {
    const m = runInstance({ instanceDir: syntheticDir, outDir: join(out, `synthetic-${readyKnown}`), planner: planRound, policy: defaultPolicy, sim: { readyKnown } });
    t.equal(m.orders, 150);
    t.ok(m.delivered >= 148, `delivered ${m.delivered} of 150`);
    t.ok(m.ctd_mean >= m.ctd_lower_bound_mean && m.ctd_gap < 15, `click-to-door ${m.ctd_gap.toFixed(2)} min above the bound`);
    t.ok(m.pay_per_order >= m.pay_lower_bound_per_order && m.pay_per_order < 15, `pay per order ${m.pay_per_order.toFixed(2)}`);
    t.ok(m.utilization_mean > 0.1 && m.utilization_mean < 1);
    t.ok(Math.abs(m.ctd_gap - (m.r2p_mean + m.detour_mean)) < 1e-9 || m.delivered < m.orders);
    t.equal(m.eta_mismatches, 0);
  });

  t.test(`0o50t75s1p100 with ready times ${readyKnown ? 'known' : 'revealed late'}`, { skip: haveData ? false : `no MDRP data at ${instanceDir}` }, async (t) => {
    const dir = join(out, String(readyKnown));
    const m = runInstance({ instanceDir, outDir: dir, planner: planRound, policy: defaultPolicy, sim: { readyKnown } });
    for (const f of ['solution_info_assignments.txt', 'solution_info_orders.txt', 'solution_info_couriers.txt', 'metrics.json']) {
      t.ok(existsSync(join(dir, f)), `${f} written`);
    }
    t.same(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')), JSON.parse(JSON.stringify(m)));
    t.equal(m.orders, 252);
    t.ok(m.delivered >= 250, `delivered ${m.delivered} of 252`);
    t.ok(m.ctd_mean >= m.ctd_lower_bound_mean, 'never beats the lower bound');
    t.ok(m.ctd_gap < 10, `click-to-door ${m.ctd_gap.toFixed(2)} min above the bound`);
    t.ok(m.r2p_mean >= 0 && m.r2p_mean < 15, `ready-to-pickup ${m.r2p_mean.toFixed(2)}`);
    t.ok(m.pay_per_order >= m.pay_lower_bound_per_order && m.pay_per_order < 15, `pay per order ${m.pay_per_order.toFixed(2)}`);
    t.ok(m.utilization_mean > 0.1 && m.utilization_mean < 1);
    t.ok(m.orders_per_bundle >= 1);
    t.ok(m.share_guaranteed_pay >= 0 && m.share_guaranteed_pay <= 1);
    t.ok(m.rounds > 100 && m.solve_ms_p99 >= m.solve_ms_p50);
    t.equal(m.eta_mismatches, 0);
  });
}

t.test('the optimizer replays deterministically (no time budget cut-off)', async (t) => {
  const policy = withOverrides(defaultPolicy, { maxMs: 60_000 });
  for (const inst of [readInstance(tinyDir), readInstance(syntheticDir), ...(haveData ? [readInstance(instanceDir)] : [])]) {
    const once = () => formatSolution(simulate(inst, { ...defaultSimOptions, planner: planRound, policy }));
    t.same(once(), once(), inst.name);
  }
});
