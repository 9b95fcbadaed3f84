/** A courier as a dispatch round sees it: free where and when its committed work ends. */
import t from 'tap';
import { haversineTravelModel } from '../../src/dispatch/travel.js';
import { createOrder, type Order, type OrderStatus } from '../../src/domain/order.js';
import { courierState, plannedOrder } from '../../src/runtime/dispatch-snapshot.js';
import { PrepTimeModel, readyView, Z75 } from '../../src/domain/prep-time.js';
import { openOrderEntry, toOrderRequest } from '../../src/store/redis/open-orders.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const travel = haversineTravelModel(5);
const service = { pickupS: 240, dropoffS: 240 };
const opts = { travel, service, defaultCapacity: 4 };
const HERE = { courierId: 'c1', lat: 52.52, lng: 13.405 };

function order(id: string, status: OrderStatus, courierId = 'c1'): Order {
  const { order } = createOrder(
    id,
    's1',
    { externalId: id, pickup: { lat: 52.53, lng: 13.405 }, dropoff: { lat: 52.54, lng: 13.405 }, items: 1, option: 'express' },
    T0,
    { expressMs: 1_800_000, standardMs: 5_400_000 },
    { role: 'store', id: 's1' },
  );
  return { ...order, status, courierId };
}

t.test('an idle courier is free here and now, with the default capacity and no shift end', async (t) => {
  const c = courierState(HERE, [], undefined, T0 + 999, opts);
  t.same(c.position, { lat: HERE.lat, lng: HERE.lng });
  t.equal(c.freeAt, T0 / 1000, 'epoch seconds');
  t.equal(c.status, 'free');
  t.equal(c.capacity, 4);
  t.ok(c.shiftEnd > T0 / 1000 + 86_400 * 300, 'no shift end: far ahead, finite');
  t.ok(Number.isFinite(c.shiftEnd));
});

t.test('a busy courier is free at its last drop-off, after driving its remaining stops', async (t) => {
  const c = courierState(HERE, [order('a', 'assigned')], { endsAt: T0 + 3_600_000, capacity: 2 }, T0, opts);
  t.equal(c.status, 'busy');
  t.same(c.position, { lat: 52.54, lng: 13.405 }, 'at the drop-off');
  // ~1112 m to the pickup, ~1112 m on: 223 s + 223 s driving, 240 s at each stop
  t.ok(c.freeAt > T0 / 1000 + 223 + 240 + 223 + 240 - 2 && c.freeAt < T0 / 1000 + 223 + 240 + 223 + 240 + 3, `freeAt ${c.freeAt - T0 / 1000} s from now`);
  t.equal(c.shiftEnd, T0 / 1000 + 3600, 'the declared shift end');
  t.equal(c.capacity, 2, 'the declared capacity');

  const carrying = courierState(HERE, [order('b', 'picked_up')], undefined, T0, opts);
  t.ok(carrying.freeAt < c.freeAt, 'an order already picked up only needs its drop-off');
  t.same(carrying.position, { lat: 52.54, lng: 13.405 });
});

t.test('plannedOrder: an order not yet ready is planned with the learned ready time and its spread; known ones untouched', async (t) => {
  const samples = Array.from({ length: 10 }, (_, i) => ({ storeId: 's1', placedAtMs: T0 - (i + 1) * 86_400_000, prepS: 1200 }));
  const model = PrepTimeModel.fromSamples(samples);
  const readyTimes = { view: (o: Parameters<typeof readyView>[1], nowMs: number) => readyView(model, o, nowMs, 5) };
  const entry = openOrderEntry(order('p1', 'placed'));
  const plain = plannedOrder(entry, T0, undefined);
  t.same(plain, toOrderRequest(entry), 'without a model: exactly as before');
  const p = plannedOrder(entry, T0, readyTimes);
  const v = readyView(model, entry, T0, 5);
  t.equal(v.source, 'learned');
  t.equal(p.readyAt, Math.floor(v.readyAt / 1000));
  t.ok(p.readyAt > T0 / 1000 + 600, 'planned with the learned prep time, not the placement');
  t.ok(Math.abs(p.readySpreadS! - v.spreadS! / Z75) < 1e-9, 'the spread as a standard deviation');
  t.match(p.readyEstimate, { source: 'learned', samples: 10 });
  const known = plannedOrder({ ...entry, readyKnown: true, readyAt: T0 + 5000 }, T0, readyTimes);
  t.equal(known.readyAt, Math.floor((T0 + 5000) / 1000));
  t.equal(known.readySpreadS, undefined);
  t.same(known.readyEstimate, { source: 'known' });
});
