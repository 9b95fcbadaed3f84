/**
 * What a second of courier time costs this round when couriers are short. When more orders are ready (or
 * about to be) than couriers are free, every second a courier spends on one route delays everyone queued
 * behind it; pricing that second at the queue length per courier makes the matching prefer short jobs and
 * near couriers (shortest-processing-time first, which minimises mean waiting in a queue). Both prices are
 * zero when couriers are not short, so well-staffed rounds are untouched.
 */
import { startTime } from './route.js';
import type { CourierState, OrderRequest, Policy } from './types.js';

export interface CourierTimePrice {
  /** Cost units per second of driving empty to the pickup (`policy.scarcityWeight`). */
  readonly emptyTravelS: number;
  /** Cost units per second the route keeps its courier busy, set-off to last drop-off (`policy.busyTimeWeight`). */
  readonly busyS: number;
}

export const NO_SCARCITY: CourierTimePrice = Object.freeze({ emptyTravelS: 0, busyS: 0 });

/**
 * Orders due within `policy.scarcityHorizonS` (`commitHorizonS` when 0) beyond the couriers free by then,
 * per usable courier (≥ 0). A window of several rounds sees a peak building up before the food is ready.
 */
export function queuePerCourier<P>(
  orders: readonly OrderRequest<P>[],
  couriers: readonly CourierState<P>[],
  now: number,
  policy: Policy,
): number {
  if (couriers.length === 0) return 0;
  const soon = now + (policy.scarcityHorizonS > 0 ? policy.scarcityHorizonS : policy.commitHorizonS);
  let due = 0;
  for (const o of orders) if (o.readyAt <= soon) due++;
  let free = 0;
  for (const c of couriers) if (startTime(c, now) <= soon) free++;
  return Math.max(0, due - free) / couriers.length;
}

export function courierTimePrice<P>(
  orders: readonly OrderRequest<P>[],
  couriers: readonly CourierState<P>[],
  now: number,
  policy: Policy,
): CourierTimePrice {
  if (policy.scarcityWeight === 0 && policy.busyTimeWeight === 0) return NO_SCARCITY;
  const perSecond = policy.timeWeight * policy.clickToDoorWeight * queuePerCourier(orders, couriers, now, policy);
  return { emptyTravelS: policy.scarcityWeight * perSecond, busyS: policy.busyTimeWeight * perSecond };
}
