import t from 'tap';
import {
  applyOrderEvent,
  createOrder,
  ORDER_STATUSES,
  OrderError,
  promisedDeliveryTime,
  publicOrder,
  type Actor,
  type Order,
  type OrderEventInput,
  type OrderStatus,
} from '../../src/domain/order.js';

const targets = { expressMs: 30 * 60_000, standardMs: 90 * 60_000 };
const store: Actor = { role: 'store', id: 's1' };
const courier: Actor = { role: 'courier', id: 'c1' };
const T0 = Date.UTC(2026, 0, 1, 12);

function fresh(overrides: Partial<Order> = {}): Order {
  const { order } = createOrder(
    'o1',
    's1',
    {
      externalId: 'ext-1',
      pickup: { lat: 52.52, lng: 13.4 },
      dropoff: { lat: 52.53, lng: 13.41 },
      items: 2,
      option: 'express',
      pin: '1234',
    },
    T0,
    targets,
    store,
  );
  return { ...order, ...overrides };
}

/** An order in the given status, built only through legal events (so the setup itself is checked). */
function inStatus(status: OrderStatus): Order {
  let o = fresh();
  const go = (e: OrderEventInput, a: Actor = courier) => {
    o = applyOrderEvent(o, e, a, T0 + o.version * 1000).order;
  };
  const path: Record<OrderStatus, () => void> = {
    placed: () => {},
    ready: () => go({ type: 'ready' }, store),
    offered: () => go({ type: 'offered', offerId: 'of1', courierId: 'c1', expiresAt: T0 + 60_000 }, { role: 'system', id: 'dispatch' }),
    assigned: () => {
      path.offered();
      go({ type: 'accepted', offerId: 'of1', courierId: 'c1' });
    },
    at_pickup: () => {
      path.assigned();
      go({ type: 'arrived_pickup' });
    },
    picked_up: () => {
      path.at_pickup();
      go({ type: 'picked_up' });
    },
    at_dropoff: () => {
      path.picked_up();
      go({ type: 'arrived_dropoff' });
    },
    delivered: () => {
      path.at_dropoff();
      go({ type: 'delivered', proof: { pin: '1234' } });
    },
    cancelled: () => go({ type: 'cancelled', reason: 'customer changed mind' }, store),
    returning: () => {
      path.picked_up();
      go({ type: 'cancelled' }, store);
    },
    returned: () => {
      path.returning();
      go({ type: 'returned' });
    },
    failed: () => go({ type: 'failed', reason: 'no_courier' }, { role: 'dispatcher', id: 'd1' }),
  };
  path[status]();
  if (o.status !== status) throw new Error(`setup reached ${o.status}, not ${status}`);
  return o;
}

const samples: Record<OrderEventInput['type'], OrderEventInput> = {
  ready: { type: 'ready' },
  offered: { type: 'offered', offerId: 'of2', courierId: 'c1', expiresAt: T0 + 60_000 },
  offer_rejected: { type: 'offer_rejected', offerId: 'of1', courierId: 'c1', reason: 'too far' },
  offer_expired: { type: 'offer_expired', offerId: 'of1', courierId: 'c1' },
  offer_withdrawn: { type: 'offer_withdrawn', offerId: 'of1', courierId: 'c1' },
  accepted: { type: 'accepted', offerId: 'of1', courierId: 'c1' },
  arrived_pickup: { type: 'arrived_pickup' },
  picked_up: { type: 'picked_up' },
  arrived_dropoff: { type: 'arrived_dropoff' },
  delivered: { type: 'delivered', proof: { pin: '1234' } },
  cancelled: { type: 'cancelled' },
  returned: { type: 'returned' },
  failed: { type: 'failed', reason: 'customer_unreachable' },
  dispatcher_assigned: { type: 'dispatcher_assigned', courierId: 'c2' },
  dispatcher_unassigned: { type: 'dispatcher_unassigned' },
  priority_changed: { type: 'priority_changed', priority: 7 },
  carrier_requested: { type: 'carrier_requested', carrier: 'simcarrier', deliveryId: 'd1', cost: { amount: 6.5, currency: 'EUR' }, reason: 'dispatcher', pickupEta: T0, dropoffEta: T0 + 1, forced: true },
  // an own order: a carrier status is refused everywhere
  carrier_status: { type: 'carrier_status', status: 'picked_up', carrierEventId: 'e1', reportedAt: T0 },
  fleet_forced: { type: 'fleet_forced', fleet: 'own' },
  reassigned: { type: 'reassigned', offerId: 'of9', courierId: 'c2', expiresAt: T0 + 60_000, reason: 'estimate_changed', savedS: 600, gainS: 700, readyChangeS: -900 },
};

// The expected machine, written out independently of the implementation's table.
const expected: Record<string, OrderStatus> = {
  'placed/ready': 'ready',
  'placed/offered': 'offered',
  'placed/cancelled': 'cancelled',
  'placed/failed': 'failed',
  'ready/ready': 'ready',
  'ready/offered': 'offered',
  'ready/cancelled': 'cancelled',
  'ready/failed': 'failed',
  'offered/ready': 'offered',
  'offered/offer_rejected': 'placed',
  'offered/offer_expired': 'placed',
  'offered/offer_withdrawn': 'placed',
  'offered/accepted': 'assigned',
  'offered/cancelled': 'cancelled',
  'assigned/ready': 'assigned',
  'assigned/arrived_pickup': 'at_pickup',
  'assigned/cancelled': 'cancelled',
  'assigned/failed': 'failed',
  'at_pickup/ready': 'at_pickup',
  'at_pickup/picked_up': 'picked_up',
  'at_pickup/cancelled': 'cancelled',
  'at_pickup/failed': 'failed',
  'picked_up/arrived_dropoff': 'at_dropoff',
  'picked_up/cancelled': 'returning',
  'picked_up/failed': 'failed',
  'at_dropoff/delivered': 'delivered',
  'at_dropoff/cancelled': 'returning',
  'at_dropoff/failed': 'failed',
  'returning/returned': 'returned',
  'returning/failed': 'failed',
  // dispatcher overrides: assign (and pin) anything not picked up yet, unassign before pickup
  'placed/dispatcher_assigned': 'assigned',
  'ready/dispatcher_assigned': 'assigned',
  'offered/dispatcher_assigned': 'assigned',
  'assigned/dispatcher_assigned': 'assigned',
  'at_pickup/dispatcher_assigned': 'assigned',
  'assigned/dispatcher_unassigned': 'placed',
  'at_pickup/dispatcher_unassigned': 'placed',
  'placed/priority_changed': 'placed',
  'ready/priority_changed': 'ready',
  'offered/priority_changed': 'offered',
  'assigned/priority_changed': 'assigned',
  'at_pickup/priority_changed': 'at_pickup',
  'picked_up/priority_changed': 'picked_up',
  'at_dropoff/priority_changed': 'at_dropoff',
  'returning/priority_changed': 'returning',
  // hybrid fleet: a dispatcher may hand anything not picked up (and not under an own offer) to a carrier
  'placed/carrier_requested': 'assigned',
  'ready/carrier_requested': 'assigned',
  'assigned/carrier_requested': 'assigned',
  'at_pickup/carrier_requested': 'assigned',
  'placed/fleet_forced': 'placed',
  'ready/fleet_forced': 'ready',
  'offered/fleet_forced': 'offered',
  'assigned/fleet_forced': 'assigned',
  'at_pickup/fleet_forced': 'at_pickup',
  // assignment update: only an order assigned and not reached yet moves (offered to the new courier)
  'assigned/reassigned': 'offered',
};

/** Overrides are refused with a code that says why; everything else with illegal_transition. */
function refusal(status: OrderStatus, type: string): string {
  if (type === 'dispatcher_assigned') return 'order_not_assignable';
  if (type === 'dispatcher_unassigned') {
    return ['picked_up', 'at_dropoff', 'returning', 'delivered', 'returned'].includes(status) ? 'order_picked_up' : 'order_not_assigned';
  }
  return 'illegal_transition';
}

t.test('every status × event: legal ones move as specified, all others are refused', async (t) => {
  for (const status of ORDER_STATUSES) {
    for (const [type, input] of Object.entries(samples)) {
      const before = inStatus(status);
      // offers are answered by the courier, everything else here by whoever may do it
      const actor: Actor = ['accepted', 'offer_rejected', 'arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered', 'returned'].includes(type)
        ? courier
        : { role: 'dispatcher', id: 'd1' };
      const want = expected[`${status}/${type}`];
      if (want) {
        const { order, event } = applyOrderEvent(before, input, actor, T0 + 99_000);
        t.equal(order.status, want, `${status} + ${type} → ${want}`);
        t.equal(order.version, before.version + 1, `${status} + ${type} bumps the version`);
        t.equal(event.version, order.version, 'event carries the new version');
        t.same(event.actor, actor);
      } else {
        const err = t.throws(() => applyOrderEvent(before, input, actor, T0 + 99_000)) as OrderError;
        t.equal(err.code, refusal(status, type), `${status} + ${type} is refused`);
        t.match(err.message, status);
      }
    }
  }
});

t.test('create: version 1, promised time per option', async (t) => {
  const o = fresh();
  t.equal(o.version, 1);
  t.equal(o.status, 'placed');
  t.equal(o.promisedBy, T0 + 30 * 60_000);
  t.equal(promisedDeliveryTime('standard', T0, targets), T0 + 90 * 60_000);
  t.equal(promisedDeliveryTime('scheduled', T0, targets, { from: T0 + 3600_000, to: T0 + 7200_000 }), T0 + 7200_000);
  t.throws(() => promisedDeliveryTime('scheduled', T0, targets), { code: 'invalid_window' });
});

t.test('create: business validation names the field', async (t) => {
  const base = { externalId: 'x', pickup: { lat: 1, lng: 1 }, dropoff: { lat: 1, lng: 1 }, items: 1 };
  const cases: [object, string, string][] = [
    [{ ...base, option: 'scheduled' }, 'window', 'invalid_window'],
    [{ ...base, option: 'scheduled', window: { from: T0 + 10, to: T0 + 5 } }, 'window', 'invalid_window'],
    [{ ...base, option: 'scheduled', window: { from: T0 - 10, to: T0 - 5 } }, 'window.to', 'invalid_window'],
    [{ ...base, option: 'express', window: { from: T0, to: T0 + 5 } }, 'window', 'invalid_window'],
    [{ ...base, option: 'express', placedAt: T0, readyAt: T0 - 1 }, 'readyAt', 'validation_failed'],
  ];
  for (const [input, field, code] of cases) {
    t.throws(() => createOrder('o', 's', input as never, T0, targets, store), { code, details: { field } });
  }
});

t.test('a ready estimate behind the server clock is clamped to placement, not refused', async (t) => {
  const { order } = createOrder('o', 's', { externalId: 'x', pickup: { lat: 1, lng: 1 }, dropoff: { lat: 1, lng: 1 }, items: 1, option: 'express', readyAt: T0 - 500 }, T0, targets, store);
  t.equal(order.readyAt, T0);
});

t.test('rejected or expired offer returns to the pool and excludes the courier', async (t) => {
  const offered = inStatus('offered');
  const { order } = applyOrderEvent(offered, samples.offer_rejected, courier, T0 + 5000);
  t.equal(order.status, 'placed');
  t.same(order.declinedBy, ['c1']);
  t.equal(order.courierId, null);
  t.throws(
    () => applyOrderEvent(order, { type: 'offered', offerId: 'of3', courierId: 'c1', expiresAt: 0 }, store, T0),
    { code: 'illegal_transition' },
    'never offered to the same courier again',
  );
  const ready = applyOrderEvent(inStatus('ready'), { type: 'offered', offerId: 'of1', courierId: 'c2', expiresAt: 0 }, store, T0).order;
  const back = applyOrderEvent(ready, { type: 'offer_expired', offerId: 'of1', courierId: 'c2' }, { role: 'system', id: 'x' }, T0).order;
  t.equal(back.status, 'ready', 'a ready order goes back as ready');
  t.same(back.declinedBy, ['c2']);
  const withdrawn = applyOrderEvent(offered, samples.offer_withdrawn, { role: 'system', id: 'x' }, T0).order;
  t.equal(withdrawn.status, 'placed');
  t.same(withdrawn.declinedBy, [], 'a withdrawn offer excludes nobody');
});

t.test('offer answers must match the open offer and its courier', async (t) => {
  const offered = inStatus('offered');
  t.throws(() => applyOrderEvent(offered, { type: 'accepted', offerId: 'other', courierId: 'c1' }, courier, T0), { code: 'offer_mismatch' });
  t.throws(
    () => applyOrderEvent(offered, { type: 'accepted', offerId: 'of1', courierId: 'c2' }, { role: 'courier', id: 'c2' }, T0),
    { code: 'not_your_order' },
  );
  const assigned = inStatus('assigned');
  t.throws(() => applyOrderEvent(assigned, { type: 'arrived_pickup' }, { role: 'courier', id: 'c9' }, T0), { code: 'not_your_order' });
});

t.test('ready updates the ready time without leaving an in-flight status', async (t) => {
  const a = applyOrderEvent(inStatus('assigned'), { type: 'ready', readyAt: T0 + 777 }, store, T0).order;
  t.equal(a.status, 'assigned');
  t.equal(a.readyAt, T0 + 777);
  t.equal(a.readyKnown, true);
});

t.test('delivery proof: wrong PIN refused, right PIN recorded, photo kept', async (t) => {
  const at = inStatus('at_dropoff');
  t.throws(() => applyOrderEvent(at, { type: 'delivered', proof: { pin: '0000' } }, courier, T0), { code: 'pin_mismatch' });
  t.throws(() => applyOrderEvent(at, { type: 'delivered' }, courier, T0), { code: 'pin_required' }, 'a PIN order cannot skip the PIN');
  t.throws(() => applyOrderEvent(at, { type: 'delivered', proof: { photoRef: 'p/0.jpg' } }, courier, T0), { code: 'pin_required' }, 'a photo does not replace the PIN');
  const ok = applyOrderEvent(at, { type: 'delivered', proof: { pin: '1234', photoRef: 'p/1.jpg' } }, courier, T0);
  t.equal(ok.order.status, 'delivered');
  t.same(ok.event.data, { courierId: 'c1', pinChecked: true, photoRef: 'p/1.jpg' });
});

t.test('an order without a PIN is delivered without proof', async (t) => {
  const at = { ...inStatus('at_dropoff'), pin: null };
  const ok = applyOrderEvent(at, { type: 'delivered' }, courier, T0);
  t.equal(ok.order.status, 'delivered');
  t.same(ok.event.data, { courierId: 'c1', pinChecked: false });
});

t.test('cancel after pickup is a return, with its own event type', async (t) => {
  const r = applyOrderEvent(inStatus('at_dropoff'), { type: 'cancelled', reason: 'store request' }, store, T0);
  t.equal(r.order.status, 'returning');
  t.equal(r.event.type, 'return_started');
  t.equal(r.order.reason, 'store request');
});

t.test('public view hides the PIN', async (t) => {
  const v = publicOrder(fresh());
  t.notOk('pin' in v);
  t.equal(v.hasPin, true);
});

const dispatcher: Actor = { role: 'dispatcher', id: 'd1' };

t.test('dispatcher assign pins the order to the courier and replaces an open offer', async (t) => {
  const placed = fresh();
  t.equal(placed.pinned, false, 'new orders are not pinned');
  t.equal(placed.priority, 0, 'new orders have priority 0');
  const { order, event } = applyOrderEvent(placed, { type: 'dispatcher_assigned', courierId: 'c7' }, dispatcher, T0 + 1000);
  t.match(order, { status: 'assigned', courierId: 'c7', offerId: null, pinned: true, version: 2 });
  t.match(event, { type: 'dispatcher_assigned', actor: dispatcher, data: { courierId: 'c7', previousCourierId: null, previousStatus: 'placed' } });

  const offered = inStatus('offered');
  const fromOffer = applyOrderEvent(offered, { type: 'dispatcher_assigned', courierId: 'c2' }, dispatcher, T0);
  t.match(fromOffer.order, { status: 'assigned', courierId: 'c2', offerId: null, pinned: true });
  t.same(fromOffer.order.declinedBy, [], 'the courier of the replaced offer is not excluded');
  t.match(fromOffer.event.data, { withdrawnOfferId: 'of1', previousCourierId: 'c1', previousStatus: 'offered' });
});

t.test('dispatcher assign moves an order between couriers before pickup; the same courier keeps its progress', async (t) => {
  const atPickup = inStatus('at_pickup');
  const moved = applyOrderEvent(atPickup, { type: 'dispatcher_assigned', courierId: 'c2' }, dispatcher, T0).order;
  t.match(moved, { status: 'assigned', courierId: 'c2', pinned: true }, 'the new courier still has to reach the pickup');
  const kept = applyOrderEvent(atPickup, { type: 'dispatcher_assigned', courierId: 'c1' }, dispatcher, T0).order;
  t.match(kept, { status: 'at_pickup', courierId: 'c1', pinned: true }, 'pinning the current courier keeps it at the pickup');
  for (const status of ['picked_up', 'at_dropoff', 'returning', 'delivered', 'cancelled', 'failed'] as const) {
    t.throws(() => applyOrderEvent(inStatus(status), { type: 'dispatcher_assigned', courierId: 'c2' }, dispatcher, T0), { code: 'order_not_assignable' }, status);
  }
});

t.test('dispatcher unassign: back to the pool unpinned before pickup, refused with a reason otherwise', async (t) => {
  const pinned = applyOrderEvent(fresh(), { type: 'dispatcher_assigned', courierId: 'c7' }, dispatcher, T0).order;
  const ready = applyOrderEvent(pinned, { type: 'ready' }, store, T0).order;
  const { order, event } = applyOrderEvent(ready, { type: 'dispatcher_unassigned' }, dispatcher, T0);
  t.match(order, { status: 'ready', courierId: null, offerId: null, pinned: false }, 'a ready order goes back as ready');
  t.same(order.declinedBy, [], 'the courier is not excluded: the dispatcher decided, not the courier');
  t.match(event.data, { courierId: 'c7', previousStatus: 'assigned' });
  t.throws(() => applyOrderEvent(fresh(), { type: 'dispatcher_unassigned' }, dispatcher, T0), { code: 'order_not_assigned' });
  t.throws(() => applyOrderEvent(inStatus('offered'), { type: 'dispatcher_unassigned' }, dispatcher, T0), { code: 'order_not_assigned' });
  t.throws(() => applyOrderEvent(inStatus('picked_up'), { type: 'dispatcher_unassigned' }, dispatcher, T0), { code: 'order_picked_up' });
  t.throws(() => applyOrderEvent(inStatus('delivered'), { type: 'dispatcher_unassigned' }, dispatcher, T0), { code: 'order_picked_up' });
});

t.test('priority: 0..10 integers on running orders, recorded with the previous value', async (t) => {
  const { order, event } = applyOrderEvent(fresh(), { type: 'priority_changed', priority: 10 }, dispatcher, T0);
  t.equal(order.priority, 10);
  t.equal(order.status, 'placed');
  t.same(event.data, { priority: 10, previousPriority: 0 });
  t.equal(applyOrderEvent(order, { type: 'priority_changed', priority: 0 }, dispatcher, T0).order.priority, 0, 'can be lowered again');
  for (const bad of [-1, 11, 2.5, Number.NaN]) {
    t.throws(() => applyOrderEvent(fresh(), { type: 'priority_changed', priority: bad }, dispatcher, T0), { code: 'validation_failed', details: { field: 'priority' } }, String(bad));
  }
  t.throws(() => applyOrderEvent(inStatus('delivered'), { type: 'priority_changed', priority: 3 }, dispatcher, T0), { code: 'illegal_transition' });
});

t.test('only dispatchers, admins and the system may override', async (t) => {
  for (const actor of [store, courier, { role: 'customer', id: 'x' }] as Actor[]) {
    t.throws(() => applyOrderEvent(fresh(), { type: 'priority_changed', priority: 1 }, actor, T0), { code: 'override_forbidden' }, actor.role);
    t.throws(() => applyOrderEvent(inStatus('assigned'), { type: 'dispatcher_unassigned' }, actor, T0), { code: 'override_forbidden' }, actor.role);
  }
  t.equal(applyOrderEvent(fresh(), { type: 'dispatcher_assigned', courierId: 'c1' }, { role: 'admin', id: 'a1' }, T0).order.pinned, true);
});

t.test('reassigned: an assigned order is offered to another courier; pinned, declined or same courier refused', async (t) => {
  const system: Actor = { role: 'system', id: 'dispatcher' };
  const before = inStatus('assigned');
  const input = samples.reassigned as Extract<OrderEventInput, { type: 'reassigned' }>;
  const { order, event } = applyOrderEvent(before, input, system, T0 + 99_000);
  t.match(order, { status: 'offered', courierId: 'c2', offerId: 'of9', pinned: false });
  t.same(event.data, { offerId: 'of9', courierId: 'c2', previousCourierId: before.courierId, expiresAt: T0 + 60_000, reason: 'estimate_changed', savedS: 600, gainS: 700, readyChangeS: -900 });
  t.throws(() => applyOrderEvent({ ...before, pinned: true }, input, system, T0), { code: 'illegal_transition' }, 'a pinned order never moves automatically');
  t.throws(() => applyOrderEvent({ ...before, declinedBy: ['c2'] }, input, system, T0), { code: 'illegal_transition' }, 'not to a courier who declined it');
  t.throws(() => applyOrderEvent(before, { ...input, courierId: before.courierId! }, system, T0), { code: 'illegal_transition' }, 'not to its own courier');
  t.throws(() => applyOrderEvent(before, input, courier, T0), { code: 'override_forbidden' }, 'a courier cannot move orders');
});
