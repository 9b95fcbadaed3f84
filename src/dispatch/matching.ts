/**
 * Turns candidates into the assignment problem: one row per bundle, one column per courier, and what
 * leaving a bundle out costs. Serving an order is worth far more than any route costs, so the matching
 * first serves as many urgent orders as it can (those whose food is about ready), then reserves couriers
 * for the others, and only then minimises the knob's cost. Among a
 * bundle's couriers only cost counts, so a near courier that may still wait beats a far one that must
 * leave now — the commitment rule then keeps the bundle open until the near one has to go.
 */
import { sparseFromRows, type SparseCostMatrix } from './assignment.js';
import type { Bundle } from './bundling.js';
import type { Candidate } from './candidates.js';
import type { Policy, ServiceTimes } from './types.js';

const SERVE_NOW_VALUE_PER_ORDER = 1e9;
const SERVE_LATER_VALUE_PER_ORDER = 1e7;

function bundleWeight<P>(bundle: Bundle<P>): number {
  let priority = 0;
  for (const o of bundle.orders) priority = Math.max(priority, o.priority ?? 0);
  return bundle.orders.length * (1 + Math.max(0, priority));
}


/**
 * Route costs count click-to-door from placement, so an old order costs more to serve than a fresh one
 * for the same courier; without this term the matching would keep serving fresh orders first and starve
 * old ones. Leaving a bundle out therefore also costs its age so far (which cancels that bias) times
 * (1 + ageWeight) (which makes the oldest orders win ties for scarce couriers), plus its lateness so far,
 * plus what waiting `deferralS` more would add: click-to-door, and lateness for orders that would then be
 * late (so orders near or past their promise win scarce couriers).
 */
export function ageCost<P>(bundle: Bundle<P>, now: number, policy: Policy): number {
  let age = 0;
  let overdue = 0;
  let lateAfterDeferral = 0;
  for (const o of bundle.orders) {
    age += Math.max(0, now - o.placedAt);
    overdue += Math.max(0, now - o.promisedBy);
    lateAfterDeferral += Math.min(policy.deferralS, Math.max(0, now + policy.deferralS - o.promisedBy));
  }
  const boost = 1 + policy.ageWeight;
  return (
    policy.timeWeight *
    (policy.clickToDoorWeight * (boost * age + bundle.orders.length * policy.deferralS) +
      policy.latenessWeight * (boost * overdue + lateAfterDeferral))
  );
}

export interface MatchingProblem {
  readonly matrix: SparseCostMatrix;
  readonly unassignedCost: Float64Array;
}

export function matchingProblem<P>(
  bundles: readonly Bundle<P>[],
  candidates: readonly (readonly Candidate<P>[])[],
  couriers: number,
  now: number,
  service: ServiceTimes,
  policy: Policy,
): MatchingProblem {
  const unassignedCost = new Float64Array(bundles.length);
  const halfPickup = service.pickupS / 2;
  const rows = bundles.map((bundle, i) => {
    // Urgent: the food is (nearly) ready — even the nearest candidate, were it free, would have to set off
    // within the horizon. A courier's being busy does not make an order less urgent.
    const urgent =
      candidates[i].length > 0 &&
      candidates[i].every((c) => bundle.readyAt - halfPickup - (c.route.arriveAt - c.route.startAt) <= now + policy.commitHorizonS);
    unassignedCost[i] = (urgent ? SERVE_NOW_VALUE_PER_ORDER : SERVE_LATER_VALUE_PER_ORDER) * bundleWeight(bundle) + ageCost(bundle, now, policy);
    return candidates[i].map((c) => ({ col: c.courier, cost: c.cost.total }));
  });
  return { matrix: sparseFromRows(couriers, rows), unassignedCost };
}
