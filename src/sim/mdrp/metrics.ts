/**
 * The metrics of one simulated instance, defined as the public evaluator computes them (data README),
 * plus per-instance lower bounds so results can be compared across instances, and planner timing.
 * Times in minutes, money in dollars.
 */
import type { MdrpInstance, MdrpOrder } from './instance.js';
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
  readonly rejected_assignments: number;
  readonly eta_mismatches: number;
  readonly undelivered_reasons: Readonly<Record<string, number>>;
}

export function computeMetrics(result: SimResult): MdrpMetrics {
  const { instance } = result;
  const { params } = instance;
  const ctd: number[] = [];
  const overage: number[] = [];
  const r2p: number[] = [];
  const r2d: number[] = [];
  for (const o of instance.orders) {
    const out = result.outcomes.get(o.id);
    if (!out) continue;
    const c = out.dropoffAt - o.placementTime;
    ctd.push(c);
    overage.push(Math.max(0, c - params.targetClickToDoorMin));
    r2p.push(out.pickupAt - o.readyTime);
    r2d.push(out.dropoffAt - o.readyTime);
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
  const solve = [...result.solveMs].sort((a, b) => a - b);
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
    rejected_assignments: result.rejectedAssignments,
    eta_mismatches: result.etaMismatches,
    undelivered_reasons: result.undeliveredReasons,
  };
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
