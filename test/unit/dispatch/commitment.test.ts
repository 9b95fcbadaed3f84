import t from 'tap';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { courier, order, snapshot } from './helpers.js';

const restaurant = { x: 640, y: 0 }; // 2 min from the origin
const customer = { x: 640, y: 960 };
const policy = { ...defaultPolicy, commitHorizonS: 120 };

t.test('an order whose food is far from ready is not locked to a courier yet', async (t) => {
  const snap = snapshot([order('o', 'r', restaurant, customer, 1800)], [courier('c', { x: 0, y: 0 })]);
  const plan = planRound(snap, policy);
  t.same(plan.assignments, []);
  t.same(plan.unassigned, [{ orderId: 'o', reason: 'not_ready_soon_enough' }]);
});

t.test('it is locked once the courier must set off within the horizon, and arrives in time', async (t) => {
  // Must leave at 1800 − 120 (half service) − 120 (travel) = 1560; horizon 120 → commit from 1440 on.
  const o = order('o', 'r', restaurant, customer, 1800);
  const c = courier('c', { x: 0, y: 0 });
  t.same(planRound(snapshot([o], [c], 1439), policy).assignments, [], 'one second early: still open');
  const plan = planRound(snapshot([o], [c], 1440), policy);
  t.equal(plan.assignments.length, 1);
  t.equal(plan.assignments[0].stops[0].serviceAt, 1800, 'picked up exactly when ready');
});

t.test('a near courier that may still wait beats a far one that must leave now', async (t) => {
  const snap = snapshot(
    [order('o', 'r', restaurant, customer, 1800)],
    [courier('far', { x: 640 + 320 * 26, y: 0 }), courier('near', { x: 0, y: 0 })],
  );
  const plan = planRound(snap, policy);
  t.same(plan.assignments, [], 'the far courier is not locked in');
  t.same(plan.unassigned, [{ orderId: 'o', reason: 'not_ready_soon_enough' }]);
});

t.test('a ready order never waits for nothing: a far idle courier is sent at once', async (t) => {
  const snap = snapshot([order('o', 'r', restaurant, customer, 0)], [courier('far', { x: 640 + 320 * 30, y: 0 })], 60);
  const plan = planRound(snap, policy);
  t.equal(plan.assignments.length, 1);
  t.equal(plan.assignments[0].courierId, 'far');
  t.equal(plan.assignments[0].stops[0].arriveAt, 60 + 30 * 60);
});

t.test('no queueing behind a busy courier until it is about to be free', async (t) => {
  const o = order('o', 'r', restaurant, customer, 0);
  const busy = courier('busy', { x: 0, y: 0 }, { status: 'busy', freeAt: 900 });
  const early = planRound(snapshot([o], [busy], 0), policy);
  t.same(early.assignments, []);
  t.same(early.unassigned, [{ orderId: 'o', reason: 'courier_busy' }]);
  const soon = planRound(snapshot([o], [busy], 800), policy);
  t.equal(soon.assignments.length, 1, 'free within the horizon: queued now');
  t.equal(soon.assignments[0].stops[0].arriveAt, 900 + 120);
});

t.test('a ready order gets the only courier over an order that could wait', async (t) => {
  const ready = order('ready', 'r1', { x: 3200, y: 0 }, { x: 3200, y: 640 }, 0);
  // Cheaper in isolation (closer), but its food is 30 minutes away.
  const later = order('later', 'r2', { x: 320, y: 0 }, { x: 320, y: 320 }, 1800);
  const plan = planRound(snapshot([ready, later], [courier('c', { x: 0, y: 0 })]), policy);
  t.same(plan.assignments.map((a) => a.orderIds), [['ready']]);
  t.same(plan.unassigned, [{ orderId: 'later', reason: 'not_ready_soon_enough' }]);
});

t.test('a ready order held for a bundle partner says so', async (t) => {
  // One courier a minute away, two orders of one restaurant: a is ready, b in 6 minutes. Bundled (couriers
  // are scarce), the courier need not leave before b's food is nearly ready.
  const plan = planRound(
    snapshot(
      [order('a', 'r', { x: 320, y: 0 }, { x: 320, y: 960 }, 0), order('b', 'r', { x: 320, y: 0 }, { x: 640, y: 960 }, 360)],
      [courier('c', { x: 0, y: 0 })],
    ),
    policy,
  );
  t.same(plan.assignments, []);
  t.same(plan.unassigned, [
    { orderId: 'a', reason: 'waiting_to_bundle' },
    { orderId: 'b', reason: 'not_ready_soon_enough' },
  ]);
});

t.test('deferralS: an order already past its promise wins a scarce courier over a fresh, cheaper one', async (t) => {
  const late = order('late', 'far', { x: 3200, y: 0 }, { x: 3200, y: 320 }, -1200, { placedAt: -3000, promisedBy: -600 });
  const fresh = order('fresh', 'near', { x: 320, y: 0 }, { x: 320, y: 320 }, 0, { placedAt: 0 });
  const snap = snapshot([late, fresh], [courier('c', { x: 0, y: 0 })]);
  // Short-jobs-first pricing (busyTimeWeight) also favours the fresh, shorter trip: keep it out of this test.
  const base = { ...policy, busyTimeWeight: 0 };
  t.same(planRound(snap, base).assignments.map((a) => a.orderIds), [['fresh']], 'by default the cheaper route wins');
  t.same(planRound(snap, { ...base, deferralS: 1800 }).assignments.map((a) => a.orderIds), [['late']]);
});

t.test('scarcityWeight: when orders queue, a courier about to be free nearby beats a long empty drive', async (t) => {
  const x = order('x', 'r', { x: 6400, y: 0 }, { x: 6400, y: 320 }, 0);
  // Two more ready orders nobody can reach: they only make couriers short.
  const queued = [1, 2].map((i) => order(`q${i}`, `far${i}`, { x: 0, y: 40_000 }, { x: 0, y: 40_320 }, 0));
  const couriers = [
    courier('a-idle-far', { x: 0, y: 0 }),
    courier('b-busy-near', { x: 6400, y: 320 }, { status: 'busy', freeAt: 1500 }),
  ];
  const base = { ...policy, timeWeight: 0.8, deferralS: 0, busyTimeWeight: 0 };
  const relaxed = planRound(snapshot([x, ...queued], couriers), { ...base, scarcityWeight: 0 });
  t.same(relaxed.assignments.map((a) => [a.courierId, a.orderIds]), [['a-idle-far', ['x']]], 'earliest pickup wins');
  const scarce = planRound(snapshot([x, ...queued], couriers), { ...base, scarcityWeight: 16 });
  t.same(scarce.assignments, [], 'the idle courier is kept for work nearer to it');
  t.same(scarce.unassigned.find((u) => u.orderId === 'x'), { orderId: 'x', reason: 'courier_busy' });
});

t.test('busyTimeWeight: when orders queue, a courier about to be free nearby beats an idle one with a long trip', async (t) => {
  const x = order('x', 'r', { x: 6400, y: 0 }, { x: 6400, y: 320 }, 0);
  const queued = [1, 2].map((i) => order(`q${i}`, `far${i}`, { x: 0, y: 40_000 }, { x: 0, y: 40_320 }, 0));
  const couriers = [
    courier('a-idle-far', { x: 0, y: 0 }),
    courier('b-busy-near', { x: 6400, y: 320 }, { status: 'busy', freeAt: 1500 }),
  ];
  const base = { ...policy, timeWeight: 0.8, deferralS: 0 };
  const relaxed = planRound(snapshot([x, ...queued], couriers), { ...base, busyTimeWeight: 0 });
  t.same(relaxed.assignments.map((a) => [a.courierId, a.orderIds]), [['a-idle-far', ['x']]], 'earliest pickup wins');
  const scarce = planRound(snapshot([x, ...queued], couriers), { ...base, busyTimeWeight: 16 });
  t.same(scarce.assignments, [], 'the idle courier is not spent on a 20-minute empty drive');
  t.same(scarce.unassigned.find((u) => u.orderId === 'x'), { orderId: 'x', reason: 'courier_busy' });
});

t.test('busyTimeWeight changes nothing while couriers suffice', async (t) => {
  const x = order('x', 'r', { x: 6400, y: 0 }, { x: 6400, y: 320 }, 0);
  const couriers = [
    courier('a-idle-far', { x: 0, y: 0 }),
    courier('b-busy-near', { x: 6400, y: 320 }, { status: 'busy', freeAt: 1500 }),
  ];
  const base = { ...policy, deferralS: 0 };
  t.same(planRound(snapshot([x], couriers), { ...base, busyTimeWeight: 64 }).assignments, planRound(snapshot([x], couriers), base).assignments);
});
