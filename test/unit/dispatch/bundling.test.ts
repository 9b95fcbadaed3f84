import t from 'tap';
import { formBundles, targetBundleSize } from '../../../src/dispatch/bundling.js';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { courier, order, snapshot } from './helpers.js';

const r1 = { x: 0, y: 0 };
const r2 = { x: 5000, y: 0 };

t.test('target size: singletons while couriers suffice, the ratio (capped) when scarce', async (t) => {
  t.equal(targetBundleSize(5, 5, defaultPolicy), 1);
  t.equal(targetBundleSize(7, 3, defaultPolicy), 3);
  t.equal(targetBundleSize(100, 2, defaultPolicy), defaultPolicy.maxBundleSize);
  t.equal(targetBundleSize(3, 0, defaultPolicy), defaultPolicy.maxBundleSize);
});

t.test('bundles hold one pickup, respect the size and the ready-time gap', async (t) => {
  const orders = [
    order('a', 'r1', r1, { x: 0, y: 500 }, 0),
    order('b', 'r1', r1, { x: 0, y: 600 }, 300),
    order('c', 'r1', r1, { x: 0, y: 700 }, 400),
    order('d', 'r1', r1, { x: 0, y: 800 }, 2000), // too far in time from a
    order('e', 'r2', r2, { x: 5000, y: 500 }, 100),
  ];
  const bundles = formBundles(orders, 2, { ...defaultPolicy, bundleReadyGapS: 600 });
  t.same(
    bundles.map((b) => b.orders.map((o) => o.id)),
    [['e'], ['a', 'b'], ['c'], ['d']],
    'sorted by ready time of the bundle',
  );
  t.same(bundles.map((b) => b.readyAt), [100, 300, 400, 2000], 'a bundle is ready when its last order is');
  t.ok(bundles.every((b) => b.orders.every((o) => o.pickupId === b.pickupId)));
  t.same(
    formBundles(orders, 1, defaultPolicy).map((b) => b.orders.length),
    [1, 1, 1, 1, 1],
    'target 1: no bundles',
  );
});

t.test('plenty of couriers: orders of one restaurant going opposite ways travel separately', async (t) => {
  const plan = planRound(
    snapshot(
      [order('north', 'r1', r1, { x: 0, y: 3200 }, 0), order('south', 'r1', r1, { x: 0, y: -3200 }, 0)],
      [courier('c1', { x: 320, y: 0 }), courier('c2', { x: -320, y: 0 })],
    ),
    defaultPolicy,
  );
  t.same(plan.assignments.map((a) => a.orderIds.length), [1, 1]);
  t.equal(plan.summary.bundles, 0);
});

t.test('scarce couriers: orders of one restaurant ride together rather than wait', async (t) => {
  const plan = planRound(
    snapshot(
      [order('a', 'r1', r1, { x: 0, y: 3200 }, 0), order('b', 'r1', r1, { x: 320, y: 3200 }, 0), order('c', 'r1', r1, { x: 0, y: 3520 }, 60)],
      [courier('only', { x: 320, y: 0 })],
    ),
    defaultPolicy,
  );
  t.equal(plan.assignments.length, 1);
  t.same([...plan.assignments[0].orderIds].sort(), ['a', 'b', 'c']);
  t.equal(plan.assignments[0].runnerUp, undefined, 'no other courier, no runner-up');
  t.same(plan.unassigned, []);
  t.equal(plan.summary.bundles, 1);
  const pickup = plan.assignments[0].stops[0];
  t.equal(pickup.kind, 'pickup');
  t.equal(pickup.serviceAt, 60 + 120, 'one pickup: arrival after 1 min + half service, after the latest ready time (60)');
});

t.test('two matched singletons merge when the freed courier saves someone a long wait', async (t) => {
  // As many couriers as orders, so nothing is bundled up front; but x's only other courier is 40 min away.
  const plan = planRound(
    snapshot(
      [order('a', 'r1', r1, { x: 0, y: 1600 }, 0), order('b', 'r1', r1, { x: 0, y: 1920 }, 0), order('x', 'r2', r2, { x: 5000, y: 1600 }, 0)],
      [courier('c1', { x: 0, y: 320 }), courier('c2', { x: 320, y: 0 }), courier('c3', { x: 5000 + 320 * 40, y: 0 })],
    ),
    defaultPolicy,
  );
  t.same(plan.unassigned, []);
  const byCourier = Object.fromEntries(plan.assignments.map((a) => [a.courierId, [...a.orderIds].sort()]));
  t.same(byCourier, { c1: ['a', 'b'], c2: ['x'] }, 'a and b ride together; the freed courier takes x');
  t.ok(
    plan.assignments.every((a) => a.runnerUp !== undefined && a.runnerUp.courierId !== a.courierId),
    'merged bundles still name a runner-up',
  );
  t.same(
    planRound(
      snapshot(
        [order('a', 'r1', r1, { x: 0, y: 1600 }, 0), order('b', 'r1', r1, { x: 0, y: 1920 }, 0), order('x', 'r2', r2, { x: 5000, y: 1600 }, 0)],
        [courier('c1', { x: 0, y: 320 }), courier('c2', { x: 320, y: 0 }), courier('c3', { x: 5000 + 320 * 40, y: 0 })],
      ),
      { ...defaultPolicy, freedCourierFactor: 0 },
    ).assignments.map((a) => a.orderIds.length),
    [1, 1, 1],
    'with freedCourierFactor 0 the merge does not pay off',
  );
});
