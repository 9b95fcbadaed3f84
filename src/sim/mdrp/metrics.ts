/**
 * The metrics of one simulated instance, defined as the public evaluator computes them (data README),
 * plus per-instance lower bounds so results can be compared across instances, and planner timing.
 * Times in minutes, money in dollars.
 */
import type { MdrpInstance, MdrpOrder, MdrpPlace } from './instance.js';
import { travelMinutes } from './rules.js';
import type { SimResult } from './simulate.js';

export interface MdrpMetrics {
  readonly instance: string;
  readonly ready_known: boolean;
  readonly orders: number;
  readonly delivered: number;
  readonly undelivered_pct: number;
  readonly ctd_mean: number;
  readonly ctd_p90: number;
  readonly ctd_max: number;
  readonly ctd_overage_mean: number;
  readonly r2p_mean: number;
  readonly r2d_mean: number;
  readonly utilization_mean: number;
  readonly orders_per_bundle: number;
  readonly total_pay: number;
  readonly pay_per_order: number;
  readonly share_guaranteed_pay: number;
  readonly ctd_lower_bound_mean: number;
  readonly ctd_gap: number;
  readonly courier_hours: number;
  readonly pay_lower_bound_per_order: number;
  readonly pay_gap: number;
  readonly rounds: number;
  readonly solve_ms_p50: number;
  readonly solve_ms_p99: number;
  readonly solve_ms_max: number;
  /** Same, in CPU time of the simulating process (robust to other load on the machine). */
  readonly solve_cpu_ms_p50: number;
  readonly solve_cpu_ms_p99: number;
  readonly solve_cpu_ms_max: number;
  readonly rejected_assignments: number;
  readonly eta_mismatches: number;
  // Diagnostics: where the click-to-door gap comes from (ctd − bound = r2p + detour for each order).
  /** Drop-off minus the fastest drop-off after this pickup (bundling detours), mean over delivered. */
  readonly detour_mean: number;
  /** Share of delivered orders (%) assigned only after their food was ready, and how long after. */
  readonly assigned_after_ready_pct: number;
  readonly ready_to_assign_mean: number;
  /** Share (%) of delivered orders picked up more than 5 min after ready ... */
  readonly late_pickup_pct: number;
  /** ... and of those, the share (%) that had an idle courier within 5 min travel when the food was ready. */
  readonly late_pickup_idle_nearby_pct: number;
  /** Minutes couriers wait at the restaurant for food (pickup − arrival − half service), mean over bundles. */
  readonly courier_wait_mean: number;
  readonly undelivered_reasons: Readonly<Record<string, number>>;
  // Hybrid dispatch (carrier.ts), present only when the simulated carrier is on. The own-fleet fields
  // above are unchanged by it: own couriers keep the benchmark's rules and pay.
  /** Orders the simulated carrier delivered, and their share (%) of all orders. */
  readonly carrier_orders?: number;
  readonly carrier_pct?: number;
  /** What the carrier charged in total, dollars. */
  readonly carrier_cost?: number;
  /** Click-to-door mean over every delivered order, own and carrier. */
  readonly hybrid_ctd_mean?: number;
  /** (own courier pay + carrier cost) ÷ orders delivered by either. */
  readonly hybrid_cost_per_order?: number;
  /** Orders delivered by nobody, %. */
  readonly hybrid_undelivered_pct?: number;
}

export function computeMetrics(result: SimResult): MdrpMetrics {
  const { instance } = result;
  const { params } = instance;
  const ctd: number[] = [];
  const overage: number[] = [];
  const r2p: number[] = [];
  const r2d: number[] = [];
  const detour: number[] = [];
  const readyToAssign: number[] = [];
  const latePickups: MdrpOrder[] = [];
  for (const o of instance.orders) {
    const out = result.outcomes.get(o.id);
    if (!out) continue;
    const c = out.dropoffAt - o.placementTime;
    ctd.push(c);
    overage.push(Math.max(0, c - params.targetClickToDoorMin));
    r2p.push(out.pickupAt - o.readyTime);
    r2d.push(out.dropoffAt - o.readyTime);
    const direct = travelMinutes(instance.restaurants.get(o.restaurantId)!, o.customer, params.metersPerMinute);
    detour.push(out.dropoffAt - out.pickupAt - (params.pickupServiceMin / 2 + direct + params.dropoffServiceMin / 2));
    if (out.assignedAt > o.readyTime) readyToAssign.push(out.assignedAt - o.readyTime);
    if (out.pickupAt - o.readyTime > 5) latePickups.push(o);
  }

  const delivered = ctd.length;
  const deliveredBy = new Map<string, number>();
  const busyMin = new Map<string, number>();
  for (const r of result.routes) {
    deliveredBy.set(r.courierId, (deliveredBy.get(r.courierId) ?? 0) + r.orderIds.length);
    const work = r.timing.drivingMin + params.pickupServiceMin + params.dropoffServiceMin * r.orderIds.length;
    busyMin.set(r.courierId, (busyMin.get(r.courierId) ?? 0) + work);
  }
  let totalPay = 0;
  let guaranteed = 0;
  let shiftMin = 0;
  const utilization: number[] = [];
  for (const c of instance.couriers) {
    const shift = c.offTime - c.onTime;
    shiftMin += shift;
    const orderPay = (deliveredBy.get(c.id) ?? 0) * params.payPerOrder;
    const minimum = (shift / 60) * params.guaranteedPayPerHour;
    totalPay += Math.max(orderPay, minimum);
    if (orderPay < minimum) guaranteed++;
    utilization.push((busyMin.get(c.id) ?? 0) / shift);
  }

  const courierHours = shiftMin / 60;
  const payLowerBound = Math.max(params.payPerOrder, (params.guaranteedPayPerHour * courierHours) / instance.orders.length);
  const payPerOrder = delivered > 0 ? totalPay / delivered : Number.NaN;
  const ctdLowerBound = mean(instance.orders.map((o) => clickToDoorLowerBound(instance, o)));
  const ctdMean = mean(ctd);
  const carried = [...(result.carrierDeliveries ?? new Map()).entries()];
  const carrierCost = carried.reduce((sum, [, d]) => sum + d.price, 0);
  const placedAt = new Map(instance.orders.map((o) => [o.id, o.placementTime]));
  const allCtd = [...ctd, ...carried.map(([id, d]) => d.dropoffAt - placedAt.get(id)!)];
  const solve = [...result.solveMs].sort((a, b) => a - b);
  const solveCpu = [...result.solveCpuMs].sort((a, b) => a - b);
  return {
    instance: instance.name,
    ready_known: result.readyKnown,
    orders: instance.orders.length,
    delivered,
    undelivered_pct: (100 * (instance.orders.length - delivered)) / instance.orders.length,
    ctd_mean: ctdMean,
    ctd_p90: quantile([...ctd].sort((a, b) => a - b), 0.9),
    ctd_max: ctd.length ? Math.max(...ctd) : Number.NaN,
    ctd_overage_mean: mean(overage),
    r2p_mean: mean(r2p),
    r2d_mean: mean(r2d),
    utilization_mean: mean(utilization),
    orders_per_bundle: result.routes.length ? delivered / result.routes.length : Number.NaN,
    total_pay: totalPay,
    pay_per_order: payPerOrder,
    share_guaranteed_pay: guaranteed / instance.couriers.length,
    ctd_lower_bound_mean: ctdLowerBound,
    ctd_gap: ctdMean - ctdLowerBound,
    courier_hours: courierHours,
    pay_lower_bound_per_order: payLowerBound,
    pay_gap: payPerOrder - payLowerBound,
    rounds: result.rounds,
    solve_ms_p50: quantile(solve, 0.5),
    solve_ms_p99: quantile(solve, 0.99),
    solve_ms_max: solve.length ? solve[solve.length - 1]! : 0,
    solve_cpu_ms_p50: quantile(solveCpu, 0.5),
    solve_cpu_ms_p99: quantile(solveCpu, 0.99),
    solve_cpu_ms_max: solveCpu.length ? solveCpu[solveCpu.length - 1]! : 0,
    ...(result.carrierDeliveries
      ? {
          carrier_orders: carried.length,
          carrier_pct: (100 * carried.length) / instance.orders.length,
          carrier_cost: carrierCost,
          hybrid_ctd_mean: mean(allCtd),
          hybrid_cost_per_order: allCtd.length > 0 ? (totalPay + carrierCost) / allCtd.length : Number.NaN,
          hybrid_undelivered_pct: (100 * (instance.orders.length - allCtd.length)) / instance.orders.length,
        }
      : {}),
    rejected_assignments: result.rejectedAssignments,
    eta_mismatches: result.etaMismatches,
    undelivered_reasons: result.undeliveredReasons,
    detour_mean: mean(detour),
    assigned_after_ready_pct: delivered ? (100 * readyToAssign.length) / delivered : 0,
    ready_to_assign_mean: readyToAssign.length ? mean(readyToAssign) : 0,
    late_pickup_pct: delivered ? (100 * latePickups.length) / delivered : 0,
    late_pickup_idle_nearby_pct: latePickups.length ? (100 * latePickups.filter((o) => idleCourierNearby(result, o)).length) / latePickups.length : 0,
    courier_wait_mean: mean(result.routes.map((r) => r.timing.pickupAt - r.timing.arriveRestaurantAt - params.pickupServiceMin / 2)),
  };
}

/** Was some on-shift courier idle when `order` became ready, within 5 minutes' travel of its restaurant? */
function idleCourierNearby(result: SimResult, order: MdrpOrder): boolean {
  const { instance } = result;
  const t = order.readyTime;
  const restaurant = instance.restaurants.get(order.restaurantId)!;
  for (const c of instance.couriers) {
    if (c.onTime > t || c.offTime <= t) continue;
    let at: MdrpPlace = c.start;
    let idle = true;
    for (const r of routesOf(result, c.id)) {
      if (r.timing.departAt <= t && t < r.timing.freeAt) idle = false;
      if (r.timing.freeAt <= t) at = r.timing.moves[r.timing.moves.length - 1]!.to;
    }
    const tt = travelMinutes(at, restaurant, instance.params.metersPerMinute);
    if (idle && tt <= 5 && t + tt <= c.offTime) return true;
  }
  return false;
}

const routeIndex = new WeakMap<SimResult, Map<string, SimResult['routes'][number][]>>();
function routesOf(result: SimResult, courierId: string): readonly SimResult['routes'][number][] {
  let index = routeIndex.get(result);
  if (!index) {
    index = new Map();
    for (const r of result.routes) index.set(r.courierId, [...(index.get(r.courierId) ?? []), r]);
    routeIndex.set(result, index);
  }
  return index.get(courierId) ?? [];
}

/** The fastest an order can possibly arrive: ready, then straight to the customer, with half of each service. */
export function clickToDoorLowerBound(instance: MdrpInstance, o: MdrpOrder): number {
  const { params } = instance;
  const restaurant = instance.restaurants.get(o.restaurantId)!;
  return (
    o.readyTime -
    o.placementTime +
    params.pickupServiceMin / 2 +
    travelMinutes(restaurant, o.customer, params.metersPerMinute) +
    params.dropoffServiceMin / 2
  );
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Linear-interpolated quantile of sorted values (pandas' default), 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
