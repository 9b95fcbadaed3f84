/**
 * The dispatcher's scheduling on a ManualClock, with in-memory ports (the Redis/Postgres side is
 * covered by test/integration/dispatch-loop.test.ts): interval, debounce, no overlap, lease, commits.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { defaultPolicy } from '../../src/dispatch/policy.js';
import { haversineTravelModel } from '../../src/dispatch/travel.js';
import type { OrderRequest } from '../../src/dispatch/types.js';
import type { LatLng } from '../../src/domain/eta.js';
import { OrderError } from '../../src/domain/order.js';
import { Dispatcher, isCommitConflict, plannedStops, type DispatcherPorts, type RoundRecord } from '../../src/runtime/dispatcher.js';
import type { RoundInput } from '../../src/runtime/dispatch-snapshot.js';
import { OfferError, type OfferOptions } from '../../src/runtime/offers.js';

const P = { lat: 52.52, lng: 13.405 };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function orderReq(id: string, nowS: number): OrderRequest<LatLng> {
  return { id, pickupId: `s-${id}`, pickup: P, dropoff: { lat: 52.53, lng: 13.41 }, placedAt: nowS, readyAt: nowS, readyKnown: true, option: 'express', promisedBy: nowS + 1800, size: 1, declinedBy: [] };
}

function harness(opts: { orders?: string[]; couriers?: string[]; offer?: DispatcherPorts['offer']; leased?: boolean } = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const inputs: string[] = [];
  const offers: { courierId: string; orderIds: readonly string[]; opts: OfferOptions }[] = [];
  let gate: Promise<void> | null = null;
  let held = false;
  const ports: DispatcherPorts = {
    clock,
    log: silent,
    leases: {
      acquire: async (zone) => (opts.leased || held ? null : ((held = true), { zone, token: 't' })),
      renew: async () => true,
      release: async () => ((held = false), true),
    },
    zonesWithOpenOrders: async () => ['z1'],
    roundInput: async (zone, nowMs): Promise<RoundInput> => {
      inputs.push(zone);
      if (gate) await gate;
      const nowS = Math.floor(nowMs / 1000);
      const orders = (opts.orders ?? ['o1']).map((id) => orderReq(id, nowS));
      return {
        snapshot: {
          now: nowS,
          orders,
          couriers: (opts.couriers ?? ['c1']).map((id) => ({ id, position: P, freeAt: nowS, shiftStart: nowS, shiftEnd: nowS + 86_400, capacity: 4, status: 'free' as const, ordersThisShift: 0 })),
          travel: haversineTravelModel(4.5),
          service: { pickupS: 240, dropoffS: 240 },
          pay: { perOrder: 0, guaranteedPerHour: 0 },
        },
        versions: new Map(orders.map((o) => [o.id, 3])),
      };
    },
    offer:
      opts.offer ??
      (async (courierId, orderIds, _actor, o) => {
        offers.push({ courierId, orderIds, opts: o });
      }),
    isPaused: async () => false,
  };
  const d = new Dispatcher(ports, { intervalMs: 60_000, debounceMs: 2000, policy: { ...defaultPolicy, maxMs: 200 } });
  const records: RoundRecord[] = [];
  d.onRound((r) => records.push(r));
  return { clock, d, inputs, offers, records, hold: (p: Promise<void> | null) => (gate = p) };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

t.test('a round commits the plan with the planned versions and stop sequence', async (t) => {
  const h = harness();
  const r = await h.d.runRound('z1');
  t.match(r, { zone: 'z1', orders: 1, couriers: 1, planned: 1, committed: 1, conflicts: 0, overran: false });
  t.equal(h.offers.length, 1);
  t.same([...h.offers[0].opts.expectedVersions!], [['o1', 3]], 'compare-and-set on the snapshot version');
  t.same(h.offers[0].opts.stops!.map((s) => s.kind), ['pickup', 'dropoff']);
  t.equal(h.offers[0].opts.stops![0].eta % 1000, 0, 'plan seconds → epoch ms');
  t.same(h.records, [r]);
});

t.test('a lost race is a conflict; other failures are counted too and never throw', async (t) => {
  const codes = [new OfferError('order_changed', 'x'), new OrderError('illegal_transition', 'x'), new Error('boom')];
  for (const err of codes) {
    const h = harness({ offer: async () => Promise.reject(err) });
    t.match(await h.d.runRound('z1'), { planned: 1, committed: 0, conflicts: 1 });
  }
  t.ok(isCommitConflict(new OfferError('courier_paused', 'x')));
  t.ok(isCommitConflict(new OfferError('courier_has_open_offer', 'x')));
  t.notOk(isCommitConflict(new Error('boom')));
  t.notOk(isCommitConflict(new OfferError('no_orders', 'x')));
});

t.test('no lease: nothing runs, nothing is reported', async (t) => {
  const h = harness({ leased: true });
  t.match(await h.d.runRound('z1'), { orders: 0, committed: 0, overran: false });
  t.same(h.inputs, [], 'no snapshot taken');
  t.same(h.records, []);
});

t.test('a round never overlaps the previous one of its zone', async (t) => {
  const h = harness();
  let open: () => void = () => undefined;
  h.hold(new Promise((r) => (open = r)));
  const first = h.d.runRound('z1');
  await settle();
  const second = await h.d.runRound('z1');
  t.match(second, { overran: true, orders: 0 }, 'skipped and reported');
  open();
  t.match(await first, { committed: 1, overran: false });
  t.same(h.inputs, ['z1'], 'one snapshot');
  t.same(h.records.map((r) => r.overran), [true, false]);
});

t.test('interval and debounce run on the clock', async (t) => {
  const h = harness();
  h.d.start();
  h.d.notifyOpen('z1');
  h.d.notifyOpen('z1'); // same burst
  h.clock.advance(1999);
  await settle();
  t.same(h.inputs, [], 'nothing before the debounce');
  h.clock.advance(1);
  await settle();
  await h.d.idle();
  t.same(h.inputs, ['z1'], 'one round for the burst');
  h.clock.advance(60_000 - 2000 - 1);
  await settle();
  t.same(h.inputs, ['z1'], 'nothing before the interval');
  h.clock.advance(1);
  await settle();
  await h.d.idle();
  t.same(h.inputs, ['z1', 'z1'], 'the interval round');

  // a debounce while the zone's round runs: one more round right after it, not an overrun
  let open: () => void = () => undefined;
  h.hold(new Promise((r) => (open = r)));
  h.clock.advance(60_000);
  await settle();
  h.d.notifyOpen('z1');
  h.clock.advance(2000);
  await settle();
  t.equal(h.inputs.length, 3);
  h.hold(null);
  open();
  await settle();
  await h.d.idle();
  t.equal(h.inputs.length, 4, 'the debounced round followed');
  t.notOk(h.records.some((r) => r.overran));

  // an interval round due while the last still runs is an overrun
  h.hold(new Promise((r) => (open = r)));
  h.clock.advance(60_000);
  await settle();
  h.clock.advance(60_000);
  await settle();
  t.equal(h.records.filter((r) => r.overran).length, 1, 'overran');
  open();
  await h.d.stop();
  const n = h.inputs.length;
  h.clock.advance(600_000);
  h.d.notifyOpen('z1');
  h.clock.advance(10_000);
  await settle();
  t.equal(h.inputs.length, n, 'stopped: no more rounds');
});

t.test('plannedStops: the plan sequence in epoch ms', async (t) => {
  const stops = plannedStops({
    courierId: 'c',
    orderIds: ['a', 'b'],
    stops: [
      { kind: 'pickup', orderIds: ['a', 'b'], place: P, arriveAt: 10, serviceAt: 12, departAt: 14 },
      { kind: 'dropoff', orderIds: ['b'], place: { lat: 1, lng: 2 }, arriveAt: 20, serviceAt: 21, departAt: 22 },
    ],
    cost: { clickToDoorS: 0, latenessS: 0, travelS: 0, waitS: 0, total: 0 },
    pinned: false,
  });
  t.same(stops, [
    { kind: 'pickup', orderIds: ['a', 'b'], lat: P.lat, lng: P.lng, eta: 12_000 },
    { kind: 'dropoff', orderIds: ['b'], lat: 1, lng: 2, eta: 21_000 },
  ]);
});
