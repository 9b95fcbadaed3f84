import t from 'tap';
import { CourierGrid } from '../../../src/dispatch/candidates.js';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import type { Plan, PlanarPoint, Snapshot } from '../../../src/dispatch/types.js';
import { courier, order, rng, service, snapshot, travel } from './helpers.js';

const r = { x: 0, y: 0 };
const home = { x: 0, y: 1600 };

t.test('pinned orders go to their courier untouched, even when another is closer', async (t) => {
  const plan = planRound(
    snapshot(
      [order('p', 'r', r, home, 0, { pinnedCourierId: 'far' }), order('q', 'r2', { x: 9600, y: 0 }, home, 0, { pinnedCourierId: 'far' })],
      [courier('near', { x: 320, y: 0 }), courier('far', { x: 6400, y: 0 })],
    ),
    defaultPolicy,
  );
  t.equal(plan.assignments.length, 1);
  const a = plan.assignments[0];
  t.equal(a.courierId, 'far');
  t.ok(a.pinned);
  t.same([...a.orderIds].sort(), ['p', 'q'], 'both pinned orders, chained pickup after pickup');
  t.same(a.stops.map((s) => s.kind), ['pickup', 'dropoff', 'pickup', 'dropoff']);
  for (let i = 1; i < a.stops.length; i++) t.ok(a.stops[i].arriveAt >= a.stops[i - 1].departAt, 'stops in time order');
});

t.test('a pinned order whose courier is away or paused is reported, not reassigned', async (t) => {
  const plan = planRound(
    snapshot(
      [order('gone', 'r', r, home, 0, { pinnedCourierId: 'ghost' }), order('paused', 'r', r, home, 0, { pinnedCourierId: 'p' })],
      [courier('p', { x: 0, y: 0 }, { status: 'paused' }), courier('idle', { x: 0, y: 0 })],
    ),
    defaultPolicy,
  );
  t.same(plan.assignments, []);
  t.same(plan.unassigned, [
    { orderId: 'gone', reason: 'pinned_courier_unavailable' },
    { orderId: 'paused', reason: 'pinned_courier_unavailable' },
  ]);
});

t.test('a courier who declined an order is never offered it again', async (t) => {
  const plan = planRound(
    snapshot([order('o', 'r', r, home, 0, { declinedBy: ['near'] })], [courier('near', { x: 320, y: 0 }), courier('far', { x: 6400, y: 0 })]),
    defaultPolicy,
  );
  t.same(plan.assignments.map((a) => a.courierId), ['far']);
  t.equal(plan.assignments[0].runnerUp, undefined, 'no runner-up: the only other courier declined');
  const none = planRound(snapshot([order('o', 'r', r, home, 0, { declinedBy: ['near'] })], [courier('near', { x: 320, y: 0 })]), defaultPolicy);
  t.same(none.unassigned, [{ orderId: 'o', reason: 'all_couriers_declined' }]);
});

t.test('every assignment names its runner-up, which costs at least as much for a lone order', async (t) => {
  const plan = planRound(snapshot([order('o', 'r', r, home, 0)], [courier('a', { x: 320, y: 0 }), courier('b', { x: 3200, y: 0 })]), defaultPolicy);
  const a = plan.assignments[0];
  t.equal(a.courierId, 'a');
  t.equal(a.runnerUp?.courierId, 'b');
  t.ok(a.runnerUp!.total >= a.cost.total);
  t.ok(a.cost.clickToDoorS > 0 && a.cost.travelS > 0);
});

t.test('reasons: capacity, reach, look-ahead, lost matching', async (t) => {
  const plan = planRound(
    snapshot(
      [
        order('big', 'r', r, home, 0, { size: 5 }),
        order('late-shift', 'r9', { x: 320 * 50, y: 0 }, home, 0),
        order('tomorrow', 'r', r, home, 24 * 3600),
        order('u1', 'r', r, { x: 0, y: -1600 }, 0),
        order('u2', 'r', r, { x: 1600, y: 0 }, 0, { declinedBy: [] }),
      ],
      [courier('small', { x: 0, y: 0 }, { capacity: 1, shiftEnd: 30 * 60 })],
    ),
    { ...defaultPolicy, maxBundleSize: 1 },
  );
  const reasons = Object.fromEntries(plan.unassigned.map((u) => [u.orderId, u.reason]));
  t.equal(reasons['big'], 'over_capacity');
  t.equal(reasons['late-shift'], 'no_courier_in_reach', 'pickup would fall after the shift end');
  t.equal(reasons['tomorrow'], 'not_ready_soon_enough');
  t.equal(plan.assignments.length, 1);
  const lost = ['u1', 'u2'].find((id) => !plan.assignments[0].orderIds.includes(id))!;
  t.equal(reasons[lost], 'couriers_taken');
});

t.test('offline couriers and couriers whose shift is over are not used; no couriers at all is fine', async (t) => {
  const plan = planRound(
    snapshot([order('o', 'r', r, home, 0)], [courier('off', { x: 0, y: 0 }, { status: 'offline' }), courier('done', { x: 0, y: 0 }, { shiftEnd: -1 })]),
    defaultPolicy,
  );
  t.same(plan.assignments, []);
  t.same(plan.unassigned, [{ orderId: 'o', reason: 'no_courier_in_reach' }]);
  t.same(planRound(snapshot([], []), defaultPolicy).assignments, []);
});

function randomSnapshot(seed: number, nOrders: number, nCouriers: number): Snapshot<PlanarPoint> {
  const rand = rng(seed);
  const pt = (): PlanarPoint => ({ x: Math.round(rand() * 8000), y: Math.round(rand() * 8000) });
  const restaurants = Array.from({ length: Math.max(1, Math.floor(nOrders / 3)) }, pt);
  const now = 3600;
  const couriers = Array.from({ length: nCouriers }, (_, i) =>
    courier(`c${i}`, pt(), {
      freeAt: rand() < 0.3 ? now + Math.round(rand() * 1200) : now - 60,
      status: rand() < 0.1 ? 'paused' : 'free',
      shiftEnd: now + Math.round(rand() * 3 * 3600),
      ordersThisShift: Math.floor(rand() * 4),
    }),
  );
  const orders = Array.from({ length: nOrders }, (_, i) => {
    const k = Math.floor(rand() * restaurants.length);
    const placedAt = now - Math.round(rand() * 900);
    return order(`o${i}`, `r${k}`, restaurants[k], pt(), placedAt + Math.round(rand() * 1800), {
      placedAt,
      declinedBy: rand() < 0.2 ? [`c${Math.floor(rand() * nCouriers)}`] : [],
      ...(rand() < 0.05 ? { pinnedCourierId: `c${Math.floor(rand() * nCouriers)}` } : {}),
    });
  });
  return { ...snapshot(orders, couriers, now), seed };
}

function withoutTiming<P>(plan: Plan<P>): unknown {
  return { ...plan, summary: { ...plan.summary, solveMs: 0 } };
}

t.test('random rounds: every order accounted for once, rules respected, never throws', async (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const snap = randomSnapshot(seed, 5 + (seed % 25), 1 + (seed % 12));
    const plan = planRound(snap, { ...defaultPolicy, maxMs: 1e6 });
    const seen = new Map<string, number>();
    for (const a of plan.assignments) for (const id of a.orderIds) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const u of plan.unassigned) seen.set(u.orderId, (seen.get(u.orderId) ?? 0) + 1);
    const problems: string[] = [];
    for (const o of snap.orders) if (seen.get(o.id) !== 1) problems.push(`${o.id} appears ${seen.get(o.id) ?? 0} times`);
    const couriersUsed = plan.assignments.map((a) => a.courierId);
    if (new Set(couriersUsed).size !== couriersUsed.length) problems.push('a courier got two assignments');
    const byId = new Map(snap.orders.map((o) => [o.id, o]));
    const courierById = new Map(snap.couriers.map((c) => [c.id, c]));
    for (const a of plan.assignments) {
      const c = courierById.get(a.courierId)!;
      if (c.status === 'paused' || c.status === 'offline') problems.push(`${c.id} is ${c.status}`);
      const pickups = a.stops.filter((s) => s.kind === 'pickup');
      for (const id of a.orderIds) {
        const o = byId.get(id)!;
        if (o.declinedBy.includes(a.courierId)) problems.push(`${id} went to ${a.courierId}, who declined it`);
        if (o.pinnedCourierId !== undefined && o.pinnedCourierId !== a.courierId) problems.push(`${id} moved off its pin`);
        if (o.pinnedCourierId === undefined && a.pinned) problems.push(`${id} marked pinned`);
        const p = pickups.find((s) => s.orderIds.includes(id))!;
        if (p.serviceAt < o.readyAt) problems.push(`${id} picked up before ready`);
        if (p.serviceAt > c.shiftEnd) problems.push(`${id} picked up after ${c.id}'s shift end`);
      }
      if (!a.pinned && a.stops[0].arriveAt < Math.max(snap.now, c.freeAt)) problems.push(`${a.courierId} starts before free`);
    }
    t.same(problems, [], `seed ${seed}`);
  }
});

t.test('deterministic: same snapshot, or the same one shuffled, gives the same plan', async (t) => {
  const snap = randomSnapshot(99, 40, 15);
  const policy = { ...defaultPolicy, maxMs: 1e6 };
  const a = planRound(snap, policy);
  const b = planRound(snap, policy);
  const shuffled = { ...snap, orders: [...snap.orders].reverse(), couriers: [...snap.couriers].reverse() };
  t.same(withoutTiming(a), withoutTiming(b));
  t.same(withoutTiming(planRound(shuffled, policy)), withoutTiming(a));
});

t.test('grid pruning returns the same nearest couriers as a full scan', async (t) => {
  const rand = rng(5);
  const now = 0;
  const couriers = Array.from({ length: 300 }, (_, i) =>
    courier(`c${i}`, { x: rand() * 20000, y: rand() * 5000 }, { freeAt: rand() < 0.3 ? rand() * 900 : 0 }),
  );
  const grid = new CourierGrid(couriers, { now, travel, service });
  for (let k = 0; k < 20; k++) {
    const p = { x: rand() * 24000 - 2000, y: rand() * 7000 - 1000 };
    const lb = couriers.map((c, i) => ({ i, lb: c.freeAt + Math.hypot(c.position.x - p.x, c.position.y - p.y) / travel.maxSpeedMps }));
    const expected = lb
      .filter((x) => x.lb <= 1800 && x.i % 7 !== 0)
      .sort((a, b) => a.lb - b.lb || a.i - b.i)
      .slice(0, 12)
      .map((x) => x.i);
    t.same(grid.nearest(p, 1800, 12, (i) => i % 7 !== 0), expected, `query ${k}`);
  }
});
