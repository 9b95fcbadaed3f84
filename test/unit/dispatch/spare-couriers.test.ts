import t from 'tap';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy, withOverrides } from '../../../src/dispatch/policy.js';
import { SPARE_ON_SHIFT_S, spareBacking } from '../../../src/dispatch/spare-couriers.js';
import { courier, order, snapshot, travel } from './helpers.js';

const policy = withOverrides(defaultPolicy, { readySpareQuantile: 0, readySpareSlackS: 300, readySpareMaxWaitS: 900 });

t.test('spareBacking: a free unmatched courier about as near backs one matched courier, nearest first', async (t) => {
  // 320 m/min: x metres away = x / 320 min.
  const pool = [
    courier('m1', { x: 0, y: 0 }), // matched, at the pickup
    courier('s1', { x: 3200, y: 0 }), // spare, 10 min away
    courier('s2', { x: 960, y: 0 }), // spare, 3 min away
    courier('m2', { x: 0, y: 100 }), // matched
  ];
  const matched = new Set([0, 3]);
  const need = { pickup: { x: 0, y: 0 }, arriveAt: 0 };
  // Two matched couriers asking: s2 (3 min ≤ 5 min slack) backs the first; s1 (10 min) is too far for the second.
  t.same(spareBacking([need, need], pool, matched, 0, travel, policy), [true, false]);
  // With a 15-min slack s1 backs the second one too; each spare backs one courier only.
  const wide = { ...policy, readySpareSlackS: 900 };
  t.same(spareBacking([need, need, need], pool, matched, 0, travel, wide), [true, true, false]);
  // A busy spare (free only after the commitment horizon) or one leaving its shift soon backs nobody.
  const busy = [pool[0]!, { ...pool[2]!, freeAt: 600, status: 'busy' as const }];
  t.same(spareBacking([need], busy, new Set([0]), 0, travel, policy), [false]);
  const leaving = [pool[0]!, { ...pool[2]!, shiftEnd: SPARE_ON_SHIFT_S - 60 }];
  t.same(spareBacking([need], leaving, new Set([0]), 0, travel, policy), [false]);
  // No spare at all.
  t.same(spareBacking([need], [pool[0]!], new Set([0]), 0, travel, policy), [false]);
});

t.test('planRound: a courier backed by a spare one aims early; alone it waits for the round aim', async (t) => {
  // Food estimated at 15 min (spread 5 min), the pickup 2 min from the matched courier: at the round's aim
  // (30 % quantile ≈ 12.4 min) it need not set off yet; aimed at once it expects to wait ≈ 11 min (< 15).
  const o = order('o1', 'r1', { x: 0, y: 0 }, { x: 3200, y: 0 }, 900, { readyKnown: false, readySpreadS: 300, placedAt: -300 });
  const near = courier('c1', { x: 640, y: 0 });
  const spare = courier('c2', { x: 960, y: 0 });
  t.equal(planRound(snapshot([o], [near], 0), policy).assignments.length, 0, 'alone: not yet');
  const off = withOverrides(defaultPolicy, { readySpareQuantile: -1 });
  t.equal(planRound(snapshot([o], [near, spare], 0), off).assignments.length, 0, 'feature off: not yet');
  const plan = planRound(snapshot([o], [near, spare], 0), policy);
  t.equal(plan.assignments.length, 1, 'backed: locked now');
  t.equal(plan.assignments[0]!.courierId, 'c1');
  // The wait limit still holds for a backed courier: food 40 min out is not worth a lock.
  const far = { ...o, readyAt: 2400 };
  t.equal(planRound(snapshot([far], [near, spare], 0), policy).assignments.length, 0);
});
