/**
 * A tiny greedy planner for harness tests, independent of src/dispatch: orders by ready time, bundles of
 * up to two orders from one restaurant whose ready times are close, each to the courier that can pick up
 * earliest. It computes stop times with the MDRP rules, so its plans must pass the harness's strict checks.
 */
import type { Assignment, CourierState, OrderRequest, Plan, Policy, Snapshot, Stop } from '../../../../src/dispatch/types.js';

export function greedyPlanner<P>(snapshot: Snapshot<P>, _policy: Policy): Plan<P> {
  const { travel, service, now } = snapshot;
  const orders = [...snapshot.orders].sort((a, b) => a.readyAt - b.readyAt || a.id.localeCompare(b.id));
  const free = new Map(snapshot.couriers.map((c) => [c.id, c]));
  const done = new Set<string>();
  const assignments: Assignment<P>[] = [];

  for (const first of orders) {
    if (done.has(first.id)) continue;
    const mate = orders.find(
      (o) => o !== first && !done.has(o.id) && o.pickupId === first.pickupId && Math.abs(o.readyAt - first.readyAt) <= 300,
    );
    const bundle = mate ? [first, mate] : [first];
    let best: { courier: CourierState<P>; stops: Stop<P>[] } | undefined;
    for (const courier of free.values()) {
      if (bundle.some((o) => o.declinedBy.includes(courier.id))) continue;
      const stops = route(courier, bundle, snapshot);
      if (stops[0]!.serviceAt > courier.shiftEnd) continue;
      if (!best || stops[0]!.serviceAt < best.stops[0]!.serviceAt) best = { courier, stops };
    }
    // Do not commit early: only assign when the pickup can happen within 10 minutes of the food being ready.
    if (!best || best.stops[0]!.serviceAt > Math.max(now, ...bundle.map((o) => o.readyAt)) + 600) continue;
    free.delete(best.courier.id);
    for (const o of bundle) done.add(o.id);
    assignments.push({
      courierId: best.courier.id,
      orderIds: bundle.map((o) => o.id),
      stops: best.stops,
      cost: { clickToDoorS: 0, latenessS: 0, travelS: 0, waitS: 0, total: 0 },
      pinned: false,
    });
  }
  const unassigned = orders.filter((o) => !done.has(o.id)).map((o) => ({ orderId: o.id, reason: 'no_courier_in_reach' as const }));
  return {
    assignments,
    unassigned,
    summary: {
      orders: orders.length,
      couriers: snapshot.couriers.length,
      assigned: done.size,
      bundles: assignments.length,
      totalCost: 0,
      solveMs: 0,
      truncated: false,
    },
  };

  function route(courier: CourierState<P>, bundle: OrderRequest<P>[], s: Snapshot<P>): Stop<P>[] {
    const depart = Math.max(now, courier.freeAt);
    const pickupPlace = bundle[0]!.pickup;
    const arrive = depart + travel.seconds(courier.position, pickupPlace);
    const pickupAt = Math.max(arrive + service.pickupS / 2, ...bundle.map((o) => o.readyAt));
    const stops: Stop<P>[] = [
      { kind: 'pickup', orderIds: bundle.map((o) => o.id), place: pickupPlace, arriveAt: arrive, serviceAt: pickupAt, departAt: pickupAt + service.pickupS / 2 },
    ];
    let at = pickupPlace;
    let leave = pickupAt + service.pickupS / 2;
    for (const o of bundle) {
      const a = leave + s.travel.seconds(at, o.dropoff);
      const drop = a + service.dropoffS / 2;
      stops.push({ kind: 'dropoff', orderIds: [o.id], place: o.dropoff, arriveAt: a, serviceAt: drop, departAt: drop + service.dropoffS / 2 });
      leave = drop + service.dropoffS / 2;
      at = o.dropoff;
    }
    return stops;
  }
}
