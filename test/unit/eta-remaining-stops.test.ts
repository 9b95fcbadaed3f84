import t from 'tap';
import { cellToLatLng, latLngToCell } from 'h3-js';
import { coarsen, remainingStops, TRACKING_COARSE_RESOLUTION } from '../../src/runtime/courier-tasks.js';
import { createOrder, type Order, type OrderStatus } from '../../src/domain/order.js';

const T0 = Date.UTC(2026, 0, 1, 12);
function order(id: string, status: OrderStatus): Order {
  const { order } = createOrder(
    id,
    's1',
    { externalId: id, pickup: { lat: 1, lng: 1 }, dropoff: { lat: 2, lng: 2 }, items: 1, option: 'standard', readyAt: T0 + 5000 },
    T0,
    { expressMs: 1, standardMs: 2 },
    { role: 'store', id: 's1' },
  );
  return { ...order, status };
}

t.test('remaining stops: pickups not yet done first, then drop-offs; arrived stops are marked', async (t) => {
  const stops = remainingStops([order('a', 'assigned'), order('b', 'picked_up'), order('c', 'at_pickup')], T0);
  t.same(
    stops.map((s) => [s.kind, s.orderIds[0], s.arrivedAt ?? null]),
    [
      ['pickup', 'a', null],
      ['pickup', 'c', T0],
      ['dropoff', 'a', null],
      ['dropoff', 'b', null],
      ['dropoff', 'c', null],
    ],
  );
  t.equal(stops[0]!.readyAt, T0 + 5000, 'pickups carry the ready time');
  t.same(remainingStops([order('d', 'at_dropoff')], T0).map((s) => [s.kind, s.arrivedAt]), [['dropoff', T0]]);
  t.same(remainingStops([order('e', 'returning')], T0).map((s) => [s.kind, s.place]), [['pickup', { lat: 1, lng: 1 }]], 'a return goes back to the pickup');
  t.same(remainingStops([order('f', 'delivered'), order('g', 'placed')], T0), [], 'finished and unassigned orders have no stops');
});

t.test('coarsen: the centre of the H3 cell, the same for every point of the cell', async (t) => {
  const p = { lat: 52.52123, lng: 13.41234 };
  const [lat, lng] = cellToLatLng(latLngToCell(p.lat, p.lng, TRACKING_COARSE_RESOLUTION));
  t.same(coarsen(p), { lat, lng });
  t.same(coarsen({ lat: p.lat + 0.00001, lng: p.lng }), coarsen(p));
  t.not(coarsen(p).lat, p.lat);
});
