/** A courier as a dispatch round sees it: free where and when its committed work ends. */
import t from 'tap';
import { haversineTravelModel } from '../../src/dispatch/travel.js';
import { createOrder, type Order, type OrderStatus } from '../../src/domain/order.js';
import { courierState } from '../../src/runtime/dispatch-snapshot.js';

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
