import t from 'tap';
import { timeRoute } from '../../../../src/sim/mdrp/rules.js';
import { RouteFollower } from '../../../../src/sim/live/route-follower.js';
import { tinyInstance } from '../support/fixtures.js';

// tiny: 100 m/min, 4 min service at both ends; c1 starts at (100,100) at minute 0 (off 120),
// c2 at (900,−100) from 20 to 90; r1 (0,0), r2 (1000,0); o1 → (300,400) ready 10, o2 → (0,600) ready 12 (both r1).
const inst = tinyInstance();
const order = (id: string) => inst.orders.find((o) => o.id === id)!;
const r1 = inst.restaurants.get('r1')!;
const r2 = inst.restaurants.get('r2')!;

t.test('a route follows the MDRP rules: rounded travel, half service before and after, waiting for the food', async (t) => {
  const f = new RouteFollower(inst.params, inst.couriers[0]!);
  const answer = f.plan(0, r1, [order('o1')]);
  if (!answer.ok) throw new Error(answer.reason);
  const { timing } = answer.route;
  // (100,100) → r1: 141 m → 2 min; pickup at max(2 + 2, ready 10) = 10; leave 12; r1 → o1: 500 m → 5 min; hand-over 17 + 2
  t.equal(timing.departAt, 0);
  t.equal(timing.arriveRestaurantAt, 2);
  t.equal(timing.pickupAt, 10);
  t.same(timing.dropoffAt, [19]);
  t.equal(timing.freeAt, 21);
  // exactly what the offline harness executes for the same decision
  t.same(timing, timeRoute(inst.params, inst.couriers[0]!.start, 0, r1, [10], [order('o1').customer]));
  t.same(f.statuses(answer.route), [
    { at: 2, orderId: 'o1', status: 'arrived_pickup' },
    { at: 10, orderId: 'o1', status: 'picked_up' },
    { at: 17, orderId: 'o1', status: 'arrived_dropoff' },
    { at: 19, orderId: 'o1', status: 'delivered' },
  ]);
  t.same(answer.route, { courierId: 'c1', assignedAt: 0, restaurantId: 'r1', orderIds: ['o1'], timing });
});

t.test('a bundle is picked up once and dropped in the offered sequence', async (t) => {
  const f = new RouteFollower(inst.params, inst.couriers[0]!);
  const answer = f.plan(3, r1, [order('o2'), order('o1')]);
  if (!answer.ok) throw new Error(answer.reason);
  const { timing } = answer.route;
  // pickup waits for the later ready time (12), leave 14; r1 → o2 600 m = 6 min → 20 + 2 = 22, leave 24;
  // o2 → o1 (300,−200) 361 m = 4 min → 28 + 2 = 30
  t.equal(timing.pickupAt, 12);
  t.same(timing.dropoffAt, [22, 30]);
  t.same(
    f.statuses(answer.route).map((s) => `${s.at} ${s.orderId} ${s.status}`),
    ['5 o2 arrived_pickup', '5 o1 arrived_pickup', '12 o2 picked_up', '12 o1 picked_up', '20 o2 arrived_dropoff', '22 o2 delivered', '28 o1 arrived_dropoff', '30 o1 delivered'],
  );
});

t.test('accepted work is queued: a courier is never diverted', async (t) => {
  const f = new RouteFollower(inst.params, inst.couriers[0]!);
  const first = f.plan(0, r1, [order('o1')]);
  if (!first.ok) throw new Error(first.reason);
  f.commit(first.route);
  t.equal(f.freeAt, 21);
  // decided at minute 5 while busy: starts at 21 from o1's door (300,400) → r2 (1000,0): 806 m = 9 min
  const second = f.plan(5, r2, [order('o3')]);
  if (!second.ok) throw new Error(second.reason);
  t.equal(second.route.assignedAt, 5);
  t.equal(second.route.timing.departAt, 21);
  t.same(second.route.timing.moves[0]!.from, order('o1').customer);
  t.equal(second.route.timing.arriveRestaurantAt, 30);
  f.commit(second.route);
  t.equal(f.routes.length, 2);
  t.same(
    f.moves.map((m) => `${m.departAt} ${m.from.id}→${m.to.id} ${m.arriveAt}`),
    ['0 c1→r1 2', '12 r1→o1 17', '21 o1→r2 30', '34 r2→o3 42'],
  );
  // a plan made before the first commit cannot be committed afterwards
  const stale = new RouteFollower(inst.params, inst.couriers[0]!);
  const a = stale.plan(0, r1, [order('o1')]);
  const b = stale.plan(0, r2, [order('o3')]);
  if (!a.ok || !b.ok) throw new Error('plans');
  stale.commit(a.route);
  t.throws(() => stale.commit(b.route), /before the courier is free/);
});

t.test('refuses what it cannot do under the rules', async (t) => {
  const c2 = new RouteFollower(inst.params, inst.couriers[1]!);
  // c2 (off at 90) is 2 min from r2: decided at 86 it picks up at 90, at 87 it would pick up at 91
  t.equal(c2.plan(86, r2, [order('o4')]).ok, true);
  t.same(c2.plan(87, r2, [order('o4')]), { ok: false, reason: 'after_shift_end' });
  t.same(c2.plan(40, r1, [order('o1'), order('o3')]), { ok: false, reason: 'several_restaurants' });
  t.same(c2.plan(40, r1, []), { ok: false, reason: 'no_orders' });
  t.same(c2.plan(40, undefined, [order('o1')]), { ok: false, reason: 'unknown_order' });
  // it starts no earlier than its shift
  const early = c2.plan(0, r2, [order('o3')]);
  t.equal(early.ok && early.route.timing.departAt, 20);
});

t.test('positions: straight lines while driving, standing still otherwise', async (t) => {
  const f = new RouteFollower(inst.params, inst.couriers[0]!);
  t.same(f.positionAt(0), { x: 100, y: 100 });
  const answer = f.plan(0, r1, [order('o1')]);
  if (!answer.ok) throw new Error(answer.reason);
  f.commit(answer.route);
  t.same(f.positionAt(-5), { x: 100, y: 100 }, 'before the shift: at the start');
  t.same(f.positionAt(1), { x: 50, y: 50 }, 'halfway to r1');
  t.same(f.positionAt(2), { x: 0, y: 0 });
  t.same(f.positionAt(11), { x: 0, y: 0 }, 'waiting and serving at r1');
  t.same(f.positionAt(14.5), { x: 150, y: 200 }, 'halfway to o1');
  t.same(f.positionAt(100), { x: 300, y: 400 }, 'stays at the last drop-off');
  t.notOk(f.idleAt(20));
  t.ok(f.idleAt(21));
});

t.test('a route decided earlier in the minute is seen leaving from where the courier stood when it accepted', async (t) => {
  const f = new RouteFollower(inst.params, inst.couriers[0]!);
  const answer = f.plan(0, r1, [order('o1')]);
  if (!answer.ok) throw new Error(answer.reason);
  // accepted at minute 0.5: the rules' route departs at 0 (its decision minute) and arrives at 2
  f.commit(answer.route, 0.5);
  t.equal(f.moves[0]!.departAt, 0, 'the executed move keeps the rule times');
  t.same(f.positionAt(0.5), { x: 100, y: 100 }, 'no jump at acceptance');
  t.same(f.positionAt(1.25), { x: 50, y: 50 }, 'and on time at the restaurant');
  t.same(f.positionAt(2), { x: 0, y: 0 });
});
