/**
 * Explanations: why this courier (the runner-up and its cost) and why an order was left out.
 */
import type { Bundle } from './bundling.js';
import type { Candidate } from './candidates.js';
import { commitsNow } from './commitment.js';
import { startTime } from './route.js';
import type { CourierState, Policy, UnassignedReason } from './types.js';

/** Couriers a round may give work: free or busy (not paused or offline), able to start before their shift ends. */
export function usableCouriers<P>(couriers: readonly CourierState<P>[], now: number): CourierState<P>[] {
  return couriers.filter((c) => (c.status === 'free' || c.status === 'busy') && startTime(c, now) <= c.shiftEnd);
}

/** The cheapest candidate other than the chosen courier, if any. Candidates are sorted by cost. */
export function runnerUpOf<P>(
  candidates: readonly Candidate<P>[],
  chosen: number,
  couriers: readonly CourierState<P>[],
): { courierId: string; total: number } | undefined {
  const other = candidates.find((c) => c.courier !== chosen);
  return other ? { courierId: couriers[other.courier].id, total: other.cost.total } : undefined;
}

/**
 * Why a bundle got no courier. With candidates it lost the matching; without, the cause is found by
 * elimination over the usable couriers: all declined, none big enough, or none in reach before its shift ends.
 */
export function reasonWithoutCourier<P>(
  bundle: Bundle<P>,
  candidates: readonly Candidate<P>[],
  usable: readonly CourierState<P>[],
  now: number,
  policy: Policy,
): UnassignedReason {
  if (candidates.length > 0) {
    // Lost the matching: to more urgent orders, or it was not due yet with any courier.
    return candidates.some((c) => commitsNow(c.route, now, policy)) ? 'couriers_taken' : 'not_ready_soon_enough';
  }
  const declined = new Set<string>();
  for (const o of bundle.orders) for (const id of o.declinedBy) declined.add(id);
  const notDeclined = usable.filter((c) => !declined.has(c.id));
  if (usable.length > 0 && notDeclined.length === 0) return 'all_couriers_declined';
  if (notDeclined.length > 0 && notDeclined.every((c) => c.capacity < bundle.size)) return 'over_capacity';
  return 'no_courier_in_reach';
}
