import t from 'tap';
import { decideFleet, wantsQuote, type FleetCandidate, type FleetPolicyOptions } from '../../src/dispatch/fleet-policy.js';
import { applyOrderEvent, createOrder, type Actor, type Order } from '../../src/domain/order.js';

const T0 = 1_800_000_000_000;
const opts: FleetPolicyOptions = { timeWeight: 0.5, ownCostPerHour: 20, margin: () => 0.2 };
const base: FleetCandidate = {
  orderId: 'o1',
  promisedBy: T0 + 30 * 60_000,
  ownOnly: false,
  offerOpen: false,
  carrier: 'simcarrier',
  own: { kind: 'assigned', dropoffAt: T0 + 20 * 60_000, courierSeconds: 15 * 60 },
  quote: { fee: { amount: 6, currency: 'EUR' }, dropoffEta: T0 + 25 * 60_000 },
};

t.test('rule 1: own fleet only, open own offer, no carrier in the zone, no quote', async (t) => {
  const noCourier = { ...base, own: { kind: 'waiting', reason: 'no_courier_in_reach', dropoffAt: null } } as const;
  t.match(decideFleet({ ...noCourier, ownOnly: true }, opts), { fleet: 'own', reason: 'own: own fleet only' });
  t.match(decideFleet({ ...noCourier, offerOpen: true }, opts), { fleet: 'own', reason: 'own: own offer open' });
  t.match(decideFleet({ ...noCourier, carrier: null }, opts), { fleet: 'own', reason: 'own: zone allows no carrier' });
  t.match(decideFleet({ ...noCourier, quote: null }, opts), { fleet: 'own', reason: 'own: no carrier quote' });
  t.notOk(wantsQuote({ ...noCourier, ownOnly: true }));
  t.notOk(wantsQuote({ ...noCourier, offerOpen: true }));
  t.notOk(wantsQuote({ ...noCourier, carrier: null }));
  t.ok(wantsQuote(noCourier));
});

t.test('rule 2 (time): no own courier, or the own courier is late and the carrier earlier', async (t) => {
  t.match(decideFleet({ ...base, own: { kind: 'waiting', reason: 'no_courier_in_reach', dropoffAt: null } }, opts), {
    fleet: 'simcarrier',
    reason: 'carrier: no own courier meets promise',
  });
  t.match(decideFleet({ ...base, own: { kind: 'waiting', reason: 'no_courier_in_reach', dropoffAt: null } }, { ...opts, timeWeight: 0 }), { fleet: 'simcarrier' }, 'no own courier at all: even at timeWeight 0');
  const late = { ...base, own: { kind: 'waiting', reason: 'courier_busy', dropoffAt: T0 + 40 * 60_000 } } as const;
  t.match(decideFleet(late, opts), { fleet: 'simcarrier', reason: 'carrier: no own courier meets promise' });
  t.match(decideFleet(late, { ...opts, timeWeight: 0 }), { fleet: 'own' }, 'timeWeight 0: lateness alone does not hand off');
  t.match(decideFleet({ ...late, quote: { ...base.quote!, dropoffEta: T0 + 45 * 60_000 } }, opts), { fleet: 'own', reason: 'own: carrier would be later' });
  const lateAssigned = { ...base, own: { kind: 'assigned', dropoffAt: T0 + 35 * 60_000, courierSeconds: 600 } } as const;
  t.match(decideFleet(lateAssigned, opts), { fleet: 'simcarrier', reason: 'carrier: no own courier meets promise' }, 'an own plan that misses the promise');
  t.match(decideFleet({ ...base, own: { kind: 'waiting', reason: 'waiting_to_bundle', dropoffAt: T0 + 25 * 60_000 } }, opts), { fleet: 'own' }, 'held back on purpose and on time');
  t.match(decideFleet({ ...base, own: { kind: 'waiting', reason: 'courier_busy', dropoffAt: T0 + 25 * 60_000 } }, opts), { fleet: 'own', reason: 'own: own fleet meets promise' });
});

t.test('rule 3 (cost): own cost above quote × (1 + margin), promise kept by the carrier', async (t) => {
  // 15 courier minutes × 20/h = 5 < 6 × 1.2
  t.match(decideFleet(base, opts), { fleet: 'own', reason: 'own: own fleet meets promise', ownCost: 5 });
  // 30 minutes × 20/h = 10 > 7.2
  const dear = { ...base, own: { kind: 'assigned', dropoffAt: T0 + 20 * 60_000, courierSeconds: 1800 } } as const;
  t.match(decideFleet(dear, opts), { fleet: 'simcarrier', reason: 'carrier: own cost exceeds carrier quote by margin', ownCost: 10 });
  t.match(decideFleet(dear, { ...opts, margin: () => 0.8 }), { fleet: 'own' }, 'a wider margin keeps it own (10 < 10.8)');
  t.match(decideFleet(dear, { ...opts, timeWeight: 1 }), { fleet: 'own' }, 'timeWeight 1: cost does not count');
  t.match(decideFleet({ ...dear, quote: { ...base.quote!, dropoffEta: T0 + 31 * 60_000 } }, opts), { fleet: 'own' }, 'the carrier would break the promise');
});

const targets = { expressMs: 30 * 60_000, standardMs: 90 * 60_000 };
const system: Actor = { role: 'system', id: 'dispatcher' };
const carrierActor: Actor = { role: 'system', id: 'carrier:simcarrier' };
function placed(): Order {
  return createOrder('o1', 's1', { externalId: 'x', pickup: { lat: 52.5, lng: 13.4 }, dropoff: { lat: 52.51, lng: 13.41 }, items: 1, option: 'express' }, T0, targets, { role: 'store', id: 's1' }).order;
}
const handOff = { type: 'carrier_requested', carrier: 'simcarrier', deliveryId: 'd1', cost: { amount: 6, currency: 'EUR' }, reason: 'carrier: no own courier meets promise', pickupEta: T0 + 1, dropoffEta: T0 + 2 } as const;
const status = (o: Order, s: string, id = s) => applyOrderEvent(o, { type: 'carrier_status', status: s as never, carrierEventId: id, reportedAt: T0 }, carrierActor, T0);

t.test('order lifecycle with a carrier: hand-off, statuses only forward, delivered', async (t) => {
  const { order: handed, event } = applyOrderEvent(placed(), handOff, system, T0);
  t.match(handed, { status: 'assigned', fleet: 'simcarrier', carrierDeliveryId: 'd1', carrierCost: { amount: 6 }, carrierStatus: 'created', courierId: null });
  t.match(event, { type: 'carrier_requested', data: { carrier: 'simcarrier', deliveryId: 'd1', reason: 'carrier: no own courier meets promise' } });
  let o = status(handed, 'courier_assigned').order;
  t.equal(o.status, 'assigned');
  const atPickup = status(o, 'at_pickup');
  t.equal(atPickup.event.type, 'carrier_at_pickup');
  o = atPickup.order;
  t.equal(o.status, 'at_pickup');
  t.throws(() => status(o, 'courier_assigned'), { code: 'carrier_status_stale' }, 'an older status (a late retry) is refused');
  t.throws(() => status(o, 'at_pickup'), { code: 'carrier_status_stale' }, 'the same status again (a replay) is refused');
  o = status(o, 'picked_up').order;
  o = status(o, 'at_dropoff').order;
  o = status(o, 'delivered').order;
  t.match(o, { status: 'delivered', fleet: 'simcarrier', carrierStatus: 'delivered' });
  t.throws(() => applyOrderEvent(handed, { type: 'arrived_pickup' }, { role: 'dispatcher', id: 'd' }, T0), { code: 'illegal_transition' }, 'only the carrier moves a carrier order');
  t.throws(() => applyOrderEvent(handed, { type: 'dispatcher_assigned', courierId: 'c1' }, { role: 'dispatcher', id: 'd' }, T0), { code: 'order_not_assignable' });
});

t.test('carrier failure before pickup: back to own dispatch, own fleet only, with the reason', async (t) => {
  const handed = applyOrderEvent(placed(), handOff, system, T0).order;
  const { order, event } = applyOrderEvent(handed, { type: 'carrier_status', status: 'failed', carrierEventId: 'e', reportedAt: T0, reason: 'courier_unavailable' }, carrierActor, T0);
  t.match(order, { status: 'placed', fleet: 'own', ownOnly: true, carrierDeliveryId: null, reason: 'carrier_failed: courier_unavailable' });
  t.match(event, { type: 'carrier_failed', data: { deliveryId: 'd1', backToOwn: true } });
  t.throws(() => applyOrderEvent(order, handOff, system, T0), { code: 'illegal_transition' }, 'the policy never hands it to a carrier again');
  t.match(applyOrderEvent(order, { ...handOff, forced: true }, { role: 'dispatcher', id: 'd' }, T0).order, { fleet: 'simcarrier' }, 'a dispatcher still may');
  const picked = status(status(handed, 'at_pickup').order, 'picked_up').order;
  t.match(applyOrderEvent(picked, { type: 'carrier_status', status: 'failed', carrierEventId: 'e', reportedAt: T0 }, carrierActor, T0).order, { status: 'failed', reason: 'courier_incident' }, 'after pickup it fails');
});

t.test('never while an own offer is open; forcing own fleet', async (t) => {
  const offered = applyOrderEvent(placed(), { type: 'offered', offerId: 'of', courierId: 'c1', expiresAt: T0 + 1 }, system, T0).order;
  t.throws(() => applyOrderEvent(offered, handOff, system, T0), { code: 'illegal_transition' });
  t.throws(() => applyOrderEvent(placed(), handOff, { role: 'store', id: 's1' }, T0), { code: 'override_forbidden' });
  const ownOnly = applyOrderEvent(placed(), { type: 'fleet_forced', fleet: 'own' }, { role: 'dispatcher', id: 'd' }, T0).order;
  t.match(ownOnly, { status: 'placed', ownOnly: true });
  const handed = applyOrderEvent(placed(), handOff, system, T0).order;
  t.match(applyOrderEvent(handed, { type: 'fleet_forced', fleet: 'own' }, { role: 'dispatcher', id: 'd' }, T0).order, { status: 'placed', fleet: 'own', ownOnly: true, reason: 'dispatcher' });
  const assigned = applyOrderEvent(offered, { type: 'accepted', offerId: 'of', courierId: 'c1' }, { role: 'courier', id: 'c1' }, T0).order;
  t.throws(() => applyOrderEvent(assigned, handOff, system, T0), { code: 'illegal_transition' }, 'the policy does not take an order from an own courier');
  const forced = applyOrderEvent(assigned, { ...handOff, forced: true, reason: 'dispatcher' }, { role: 'dispatcher', id: 'd' }, T0);
  t.match(forced.order, { status: 'assigned', fleet: 'simcarrier', courierId: null });
  t.match(forced.event.data, { courierId: 'c1', forced: true }, 'the own courier is named, so it hears it');
});
