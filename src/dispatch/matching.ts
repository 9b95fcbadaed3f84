/**
 * Turns candidates into the assignment problem: one row per bundle, one column per courier, and what
 * leaving a bundle out costs. Serving an order now is worth far more than any route costs, so the
 * matching first serves as many orders as it can that the commitment rule would lock now, then reserves
 * couriers for later orders, and only then minimises the knob's cost. A pair the commitment rule would not
 * lock yet (the courier would wait too long at the pickup) is only worth the "later" value, so a ready
 * order never loses its courier to a tentative match.
 */
import { sparseFromRows, type SparseCostMatrix } from './assignment.js';
import type { Bundle } from './bundling.js';
import type { Candidate } from './candidates.js';
import { commitsNow } from './commitment.js';
import type { Policy } from './types.js';

const SERVE_NOW_VALUE_PER_ORDER = 1e9;
const SERVE_LATER_VALUE_PER_ORDER = 1e7;

function bundleWeight<P>(bundle: Bundle<P>): number {
  let priority = 0;
  for (const o of bundle.orders) priority = Math.max(priority, o.priority ?? 0);
  return bundle.orders.length * (1 + Math.max(0, priority));
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
  policy: Policy,
): MatchingProblem {
  const unassignedCost = new Float64Array(bundles.length);
  const rows = bundles.map((bundle, i) => {
    const weight = bundleWeight(bundle);
    const due = candidates[i].some((c) => commitsNow(c.route, now, policy));
    const leaveOut = (due ? SERVE_NOW_VALUE_PER_ORDER : SERVE_LATER_VALUE_PER_ORDER) * weight;
    unassignedCost[i] = leaveOut;
    const tentativeSurcharge = leaveOut - SERVE_LATER_VALUE_PER_ORDER * weight;
    return candidates[i].map((c) => ({
      col: c.courier,
      cost: c.cost.total + (commitsNow(c.route, now, policy) ? 0 : tentativeSurcharge),
    }));
  });
  return { matrix: sparseFromRows(couriers, rows), unassignedCost };
}
