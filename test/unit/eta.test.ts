import t from 'tap';
import { dropoffEta, etaThroughStops, type LatLng } from '../../src/domain/eta.js';
import type { TravelModel } from '../../src/dispatch/types.js';

// a toy model: 1 s per 0.001° of Manhattan distance, so expected numbers are easy to read
const travel: TravelModel<LatLng> = {
  seconds: (a, b) => Math.round((Math.abs(a.lat - b.lat) + Math.abs(a.lng - b.lng)) * 1000),
  planar: (p) => ({ x: p.lng, y: p.lat }),
  maxSpeedMps: 20,
};
const service = { pickupS: 120, dropoffS: 60 };
const now = 1_000_000;

t.test('pickup then drop-off: travel + half service before, half after', async (t) => {
  const etas = etaThroughStops(
    now,
    { lat: 0, lng: 0 },
    [
      { kind: 'pickup', orderIds: ['a'], place: { lat: 0.3, lng: 0 }, readyAt: 0 },
      { kind: 'dropoff', orderIds: ['a'], place: { lat: 0.3, lng: 0.5 } },
    ],
    travel,
    service,
  );
  t.equal(etas[0].arriveAt, now + 300_000);
  t.equal(etas[0].serviceAt, now + 360_000);
  t.equal(etas[0].departAt, now + 420_000);
  t.equal(etas[1].arriveAt, now + 920_000);
  t.equal(etas[1].serviceAt, now + 950_000);
  t.equal(dropoffEta(etas, 'a'), now + 950_000);
  t.equal(dropoffEta(etas, 'zzz'), null);
});

t.test('waits for food that is not ready', async (t) => {
  const etas = etaThroughStops(now, { lat: 0, lng: 0 }, [{ kind: 'pickup', orderIds: ['a'], place: { lat: 0.1, lng: 0 }, readyAt: now + 1_000_000 }], travel, service);
  t.equal(etas[0].serviceAt, now + 1_000_000);
  t.equal(etas[0].departAt, now + 1_060_000);
});

t.test('a stop already reached keeps its arrival time and never departs in the past', async (t) => {
  const etas = etaThroughStops(
    now,
    { lat: 0, lng: 0 },
    [
      { kind: 'dropoff', orderIds: ['a'], place: { lat: 0, lng: 0 }, arrivedAt: now - 500_000 },
      { kind: 'dropoff', orderIds: ['b'], place: { lat: 0.01, lng: 0 } },
    ],
    travel,
    service,
  );
  t.equal(etas[0].arriveAt, now - 500_000);
  t.equal(etas[0].departAt, now, 'overdue service is assumed to end now');
  t.equal(etas[1].arriveAt, now + 10_000);
});

t.test('no stops → no ETAs', async (t) => {
  t.same(etaThroughStops(now, { lat: 0, lng: 0 }, [], travel, service), []);
});
