/**
 * The assignment-update rule (src/dispatch/reassign.ts): an assigned order moves to another courier only
 * when its ready estimate changed enough, the other courier is better by the minimum gain, and none of
 * the guards applies (pinned, at or near the store, bundled, move limit, cooldown).
 */
import t from 'tap';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { planMoves, type AssignedOrder, type ReassignContext, type ReassignRules } from '../../../src/dispatch/reassign.js';
import type { PlanarPoint } from '../../../src/dispatch/types.js';
import { courier, order, service, travel } from './helpers.js';

const MIN = 60;
const store = { x: 0, y: 0 };
const home = { x: 0, y: 320 * 10 };
const at = (min: number) => ({ x: 320 * min, y: 0 }); // `min` minutes of driving east of the store
const rules: ReassignRules = { enabled: true, readyChangeS: 5 * MIN, minGainS: 5 * MIN, nearStoreS: 2 * MIN, maxMoves: 1, cooldownS: 10 * MIN };
const now = 10 * MIN;
const ctx: ReassignContext<PlanarPoint> = { now, travel, service, policy: defaultPolicy };

/** Order `id` assigned to a courier `awayMin` minutes from the store, planned ready at 30 min, estimated ready at `readyAt`. */
function assigned(id: string, readyAt: number, awayMin: number, extra: Partial<AssignedOrder<PlanarPoint>> = {}): AssignedOrder<PlanarPoint> {
  return {
    order: order(id, 'store', store, home, readyAt, { placedAt: 0, promisedBy: 90 * MIN }),
    status: 'assigned',
    pinned: false,
    courierId: 'far',
    courierPosition: at(awayMin),
    arriveAt: now + awayMin * MIN,
    legS: awayMin * MIN,
    sharesPickup: false,
    plannedReadyAt: 30 * MIN,
    moves: 0,
    lastMovedAt: null,
    ...extra,
  };
}

t.test('food ready much earlier than planned: a near free courier takes the order from the far one', async (t) => {
  const [v] = planMoves([assigned('o', now, 25)], [courier('near', at(2)), courier('mid', at(8))], rules, ctx);
  t.match(v, { orderId: 'o', move: true, reason: 'estimate_changed', fromCourierId: 'far', toCourierId: 'near', readyChangeS: -20 * MIN });
  if (!v.move) return;
  // far: at the store at 35 min (+2 min half service); near: at 12 (+2)
  t.equal(v.current.pickupAt, 37 * MIN);
  t.equal(v.next.pickupAt, 14 * MIN);
  t.equal(v.savedS, 23 * MIN, 'picked up (and delivered) 23 minutes earlier');
  t.ok(v.gainS >= v.savedS, `the gain counts the saved minutes and the shorter drive (${v.gainS} s)`);
});

t.test('hysteresis: a small change of the estimate moves nothing, however near another courier is', async (t) => {
  const [v] = planMoves([assigned('o', 30 * MIN - 4 * MIN, 25)], [courier('near', at(2))], rules, ctx);
  t.match(v, { move: false, reason: 'estimate_unchanged', readyChangeS: -4 * MIN });
});

t.test('hysteresis: a changed estimate moves the order only for a gain of at least minGainS', async (t) => {
  // ready now; the other courier is 21 min away instead of 25: 4 minutes better, below the 5-minute minimum
  const [v] = planMoves([assigned('o', now, 25)], [courier('other', at(21))], rules, ctx);
  t.match(v, { move: false, reason: 'gain_too_small' });
  t.ok(v.gainS! > 0 && v.gainS! < 5 * MIN, `gain ${v.gainS} s`);
  const [w] = planMoves([assigned('o', now, 25)], [courier('other', at(19))], rules, ctx);
  t.match(w, { move: true, toCourierId: 'other' }, '6 minutes better: moved');
});

t.test('later than planned: the knob decides (time-heavy keeps the order, cost-only moves it to the nearer courier)', async (t) => {
  const later = assigned('o', 60 * MIN, 25);
  const [timeHeavy] = planMoves([later], [courier('near', at(2))], rules, ctx);
  t.match(timeHeavy, { move: false, reason: 'gain_too_small' }, 'both are there before the food: no minute of delivery is saved');
  const [costOnly] = planMoves([later], [courier('near', at(2))], rules, { ...ctx, policy: { ...defaultPolicy, timeWeight: 0 } });
  t.match(costOnly, { move: true, toCourierId: 'near', savedS: 0 }, 'only the courier time counts: the shorter drive wins');
});

t.test('guards keep the order where it is', async (t) => {
  const near = [courier('near', at(2))];
  const keep = (a: AssignedOrder<PlanarPoint>, r: ReassignRules = rules) => planMoves([a], near, r, ctx)[0];
  t.match(keep(assigned('o', now, 25), { ...rules, enabled: false }), { move: false, reason: 'disabled' });
  t.match(keep(assigned('o', now, 25, { pinned: true })), { move: false, reason: 'pinned' });
  t.match(keep(assigned('o', now, 25, { status: 'at_pickup' })), { move: false, reason: 'not_movable' }, 'courier waiting at the store');
  t.match(keep(assigned('o', now, 1)), { move: false, reason: 'near_store' }, 'courier one minute from the store');
  t.match(keep(assigned('o', now, 25, { plannedReadyAt: null })), { move: false, reason: 'no_plan' });
  t.match(keep(assigned('o', now, 25, { moves: 1 })), { move: false, reason: 'move_limit' });
  t.match(keep(assigned('o', now, 25, { moves: 1 }), { ...rules, maxMoves: 2 }), { move: true }, 'a second move when the limit allows it');
  t.match(keep(assigned('o', now, 25, { moves: 1, lastMovedAt: now - 5 * MIN }), { ...rules, maxMoves: 2 }), { move: false, reason: 'cooldown' });
  t.match(keep(assigned('o', now, 25, { sharesPickup: true })), { move: false, reason: 'bundled' }, 'its courier goes to that store anyway');
  t.match(keep(assigned('o', now, 25)), { move: true }, 'the same order without a guard moves');
});

t.test('couriers who declined the order, lack capacity or end their shift first are not candidates', async (t) => {
  const a = assigned('o', now, 25, { order: order('o', 'store', store, home, now, { placedAt: 0, promisedBy: 90 * MIN, declinedBy: ['declined'], size: 3 }) });
  const [v] = planMoves(
    [a],
    [courier('declined', at(1)), courier('small', at(1), { capacity: 2 }), courier('leaving', at(1), { shiftEnd: now + 30 }), courier('far', at(0))],
    rules,
    ctx,
  );
  t.match(v, { move: false, reason: 'no_better_courier' }, 'and the current courier is not its own alternative');
});

t.test('a busy courier counts from where and when its work ends', async (t) => {
  const [v] = planMoves([assigned('o', now, 25)], [courier('busy', at(2), { status: 'busy', freeAt: now + 30 * MIN })], rules, ctx);
  t.match(v, { move: false, reason: 'no_better_courier' }, 'free only after the current courier would have picked it up');
});

t.test('one courier takes at most one moved order per round, the larger gain first', async (t) => {
  const a = assigned('a', now, 25);
  const b = assigned('b', now, 15, { courierId: 'other', courierPosition: at(15), arriveAt: now + 15 * MIN, legS: 15 * MIN });
  const verdicts = planMoves([b, a], [courier('near', at(2))], rules, ctx);
  t.match(verdicts, [
    { orderId: 'b', move: false, reason: 'no_better_courier' },
    { orderId: 'a', move: true, toCourierId: 'near' },
  ]);
  const two = planMoves([b, a], [courier('near', at(2)), courier('next', at(3))], rules, ctx);
  t.match(two, [
    { orderId: 'b', move: true, toCourierId: 'next' },
    { orderId: 'a', move: true, toCourierId: 'near' },
  ]);
});
